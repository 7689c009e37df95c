import type { FastifyInstance, FastifyReply } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import * as z from "zod";
import { compileModel, loadModel } from "../../engine/index.js";
import { QualifyError } from "../../errors.js";
import { addModel, getModel, listModels } from "../../pipeline/model-store.js";
import { previewModel, publishModel } from "../../pipeline/publish-model.js";
import { ANY_ROLE, MARKETING, requireRole, workspaceOf } from "../authenticate.js";
import { mqlThresholds } from "../explain-lead.js";
import type { Service } from "../service.js";

const versionParams = z.object({ version: z.coerce.number().int().min(1) });
const activeDays = z.coerce
  .number()
  .int()
  .min(0)
  .max(3650)
  .default(30)
  .describe("only leads active within this many days get an MQL at publish time");

/** Streams progress as NDJSON lines when the client asks for `application/x-ndjson`, then the result. */
async function withProgress<T>(
  accept: string | undefined,
  reply: FastifyReply,
  run: (onProgress: (done: number, total: number) => void) => Promise<T>,
): Promise<T | undefined> {
  if (!accept?.includes("application/x-ndjson")) return run(() => undefined);
  reply.hijack();
  reply.raw.writeHead(200, { "content-type": "application/x-ndjson" });
  let last = 0;
  try {
    const result = await run((done, total) => {
      if (done === total || Date.now() - last > 100) {
        last = Date.now();
        reply.raw.write(`${JSON.stringify({ progress: { done, total } })}\n`);
      }
    });
    reply.raw.end(`${JSON.stringify({ result })}\n`);
  } catch (e) {
    const err =
      e instanceof QualifyError
        ? { error: e.code, message: e.message }
        : { error: "INTERNAL", message: "internal error" };
    reply.raw.end(`${JSON.stringify(err)}\n`);
  }
  return undefined;
}

export function modelRoutes(app: FastifyInstance, service: Service): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ["models"];
  const security = [{ bearer: [] }];

  r.get(
    "/api/models",
    { preHandler: requireRole(service, ANY_ROLE), schema: { tags, security, summary: "Model versions" } },
    async (req) => (await listModels(service.db, workspaceOf(req))).map(({ source: _, ...m }) => m),
  );

  r.get(
    "/api/models/history",
    {
      preHandler: requireRole(service, ANY_ROLE),
      schema: { tags, security, summary: "Publishes, newest first: who, when, and what they changed" },
    },
    async (req) =>
      (await listModels(service.db, workspaceOf(req)))
        .filter((m) => m.publishedAt !== null)
        .sort((a, b) => ((a.publishedAt as string) < (b.publishedAt as string) ? 1 : -1))
        .map(({ source: _, ...m }) => m),
  );

  r.get(
    "/api/models/:version",
    {
      preHandler: requireRole(service, ANY_ROLE),
      schema: { tags, security, summary: "One model version, with its YAML source", params: versionParams },
    },
    async (req) => getModel(service.db, workspaceOf(req), req.params.version),
  );

  r.post(
    "/api/models",
    {
      preHandler: requireRole(service, MARKETING),
      schema: {
        tags,
        security,
        summary: "Store a new (inactive) version from YAML; answers with the version and its preview",
        body: z.object({ source: z.string().min(1).describe("the model's YAML"), activeDays }),
      },
    },
    async (req, reply) => {
      const w = workspaceOf(req);
      // A version is numbered max + 1: under the workspace row's lock, concurrent stores take turns
      // instead of colliding on the same number (a 500 on PostgreSQL).
      const model = await service.db.transaction(async (tx) => {
        await tx.query("select id from workspaces where id = $1 for update", [w]);
        return addModel(tx, w, req.body.source);
      });
      const preview = await previewModel(service.db, w, model.version, {
        activeDays: req.body.activeDays,
        now: service.clock(),
      });
      return reply.status(201).send({ model: { ...model, source: undefined }, preview });
    },
  );

  r.post(
    "/api/models/check",
    {
      preHandler: requireRole(service, MARKETING),
      config: { bodyLimit: 4 * 1024 * 1024 },
      schema: {
        tags,
        security,
        summary:
          "Validate a model's YAML without storing it: its name, groups and rule count, or 422 MODEL_INVALID with every problem's path and line",
        body: z.object({ source: z.string().describe("the model's YAML") }),
      },
    },
    async (req) => {
      const m = compileModel(loadModel(req.body.source, "model"));
      return {
        ok: true,
        name: m.spec.name,
        key: m.key,
        groups: m.groups.map((g) => g.name),
        rules: m.rules.length,
        mqlThresholds: mqlThresholds(m),
      };
    },
  );

  r.get(
    "/api/models/:version/preview",
    {
      preHandler: requireRole(service, MARKETING),
      schema: {
        tags,
        security,
        summary: "How many leads the version would newly qualify, by week",
        params: versionParams,
        querystring: z.object({ activeDays }),
      },
    },
    async (req, reply) =>
      withProgress(req.headers.accept, reply, (onProgress) =>
        previewModel(service.db, workspaceOf(req), req.params.version, {
          activeDays: req.query.activeDays,
          now: service.clock(),
          onProgress,
        }),
      ),
  );

  r.post(
    "/api/models/:version/publish",
    {
      preHandler: requireRole(service, MARKETING),
      schema: {
        tags,
        security,
        summary:
          "Make the version active and rescore every lead (confirm: true required); NDJSON progress on request",
        params: versionParams,
        body: z.object({
          confirm: z.literal(true, { error: "set confirm: true once you have read the preview" }),
          activeDays,
        }),
      },
    },
    async (req, reply) => {
      const w = workspaceOf(req);
      const by = req.user?.email ?? "unknown";
      await getModel(service.db, w, req.params.version);
      return withProgress(req.headers.accept, reply, (onProgress) =>
        service.pipeline.exclusive(async () => {
          const result = await publishModel(service.db, w, req.params.version, {
            activeDays: req.body.activeDays,
            now: service.clock(),
            by,
            onProgress,
          });
          service.pipeline.forgetModel(w);
          return result;
        }),
      );
    },
  );
}
