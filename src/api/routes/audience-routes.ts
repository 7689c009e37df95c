import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import * as z from "zod";
import { membersCsv } from "../../nurture/audience-csv.js";
import { allMembers, decodeCursor, encodeCursor, memberPage } from "../../nurture/audience-members.js";
import { loadAudience } from "../../nurture/audience-spec.js";
import { deleteAudience, getAudience, listAudiences, saveAudience } from "../../nurture/audience-store.js";
import { rebuildAudience } from "../../nurture/sync-audiences.js";
import { ANY_ROLE, MARKETING, requireRole, workspaceOf } from "../authenticate.js";
import type { Service } from "../service.js";
import { publishableKeyRoutes } from "./publishable-key-routes.js";

/** Saved audiences (docs/audiences.md): YAML segment conditions with versions, members, CSV export. */
export function audienceRoutes(app: FastifyInstance, service: Service): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ["audiences"];
  const security = [{ bearer: [] }];
  const anyRole = requireRole(service, ANY_ROLE);
  const marketing = requireRole(service, MARKETING);
  const source = z.string().min(1).max(200_000).describe("the audience's YAML (docs/audiences.md)");
  const idParams = z.object({ id: z.string().min(1).max(200).describe("audience id") });

  r.get(
    "/api/audiences",
    { preHandler: anyRole, schema: { tags, security, summary: "Active audiences with member counts" } },
    async (req) => ({ audiences: await listAudiences(service.db, workspaceOf(req)) }),
  );

  r.post(
    "/api/audiences/check",
    {
      preHandler: anyRole,
      schema: {
        tags,
        security,
        summary: "Validate an audience without saving it (422 with every error's path and line)",
        body: z.object({ source }),
      },
    },
    async (req) => ({ ok: true, spec: loadAudience(req.body.source) }),
  );

  r.post(
    "/api/audiences",
    {
      preHandler: marketing,
      schema: {
        tags,
        security,
        summary:
          "Save an audience as a new active version (422 with every error's line); its membership is rebuilt before the answer",
        body: z.object({ source }),
      },
    },
    async (req, reply) => {
      const ws = workspaceOf(req);
      const saved = await saveAudience(service.db, ws, req.body.source, {
        by: req.user?.email ?? null,
        now: service.clock(),
      });
      const membership = await rebuildAudience(service.db, ws, saved.id, service.clock());
      await service.db.sync();
      service.webhooks.wake();
      const { members } = await getAudience(service.db, ws, saved.id);
      return reply.status(201).send({ ...saved, members, membership });
    },
  );

  r.get(
    "/api/audiences/:id",
    {
      preHandler: anyRole,
      schema: {
        tags,
        security,
        summary: "An audience: its active version, spec, members and versions",
        params: idParams,
      },
    },
    async (req) => getAudience(service.db, workspaceOf(req), req.params.id),
  );

  r.delete(
    "/api/audiences/:id",
    {
      preHandler: marketing,
      schema: {
        tags,
        security,
        summary: "Delete an audience: every version is deactivated and every member leaves (audience.left)",
        params: idParams,
      },
    },
    async (req) => {
      const out = await deleteAudience(service.db, workspaceOf(req), req.params.id, service.clock());
      await service.db.sync();
      service.webhooks.wake();
      return { ...out, deleted: true };
    },
  );

  r.get(
    "/api/audiences/:id/members",
    {
      preHandler: anyRole,
      schema: {
        tags,
        security,
        summary: "The members: JSON pages, or the whole list as CSV (?format=csv or Accept: text/csv)",
        params: idParams,
        querystring: z.object({
          format: z.enum(["json", "csv"]).optional().describe("csv: every member, for ad platforms"),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
          cursor: z.string().optional().describe("nextCursor of the previous page"),
        }),
      },
    },
    async (req, reply) => {
      const ws = workspaceOf(req);
      const { id } = req.params;
      await getAudience(service.db, ws, id); // 404 for an audience that is not active
      const csv =
        req.query.format === "csv" || (!req.query.format && /\btext\/csv\b/i.test(req.headers.accept ?? ""));
      if (csv)
        return reply
          .type("text/csv; charset=utf-8")
          .header("content-disposition", `attachment; filename="${id}.csv"`)
          .send(Readable.from(membersCsv(allMembers(service.db, ws, id))));
      const after = req.query.cursor === undefined ? undefined : decodeCursor(req.query.cursor);
      const page = await memberPage(service.db, ws, id, { after, limit: req.query.limit });
      return { items: page.items, nextCursor: page.next === null ? null : encodeCursor(page.next) };
    },
  );

  publishableKeyRoutes(app, service);
}
