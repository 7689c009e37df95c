import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import * as z from "zod";
import { QualifyError } from "../../errors.js";
import { loadRouting } from "../../handoff/routing-spec.js";
import { activateRouting, listRoutings, saveRouting } from "../../handoff/routing-store.js";
import { ANY_ROLE, MARKETING, requireRole, workspaceOf } from "../authenticate.js";
import type { Service } from "../service.js";

/** Routing documents (teams, rules, SLAs, rejection reasons): YAML, stored with versions. */
export function routingRoutes(app: FastifyInstance, service: Service): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ["routing"];
  const security = [{ bearer: [] }];
  const source = z.string().min(1).describe("the routing document's YAML (docs/routing.md)");

  r.get(
    "/api/routing",
    {
      preHandler: requireRole(service, ANY_ROLE),
      schema: { tags, security, summary: "The active routing, with its YAML" },
    },
    async (req) => {
      const active = (await listRoutings(service.db, workspaceOf(req))).find((v) => v.active);
      if (!active)
        throw new QualifyError("NOT_FOUND", "no routing is active yet: save one with POST /api/routing");
      return { ...active, spec: loadRouting(active.source) };
    },
  );

  r.get(
    "/api/routing/versions",
    {
      preHandler: requireRole(service, ANY_ROLE),
      schema: { tags, security, summary: "Routing versions, newest first" },
    },
    async (req) => listRoutings(service.db, workspaceOf(req)),
  );

  r.post(
    "/api/routing/check",
    {
      preHandler: requireRole(service, ANY_ROLE),
      schema: {
        tags,
        security,
        summary: "Validate a routing document without saving it (422 with each error's line)",
        body: z.object({ source }),
      },
    },
    async (req) => ({ ok: true, spec: loadRouting(req.body.source) }),
  );

  r.post(
    "/api/routing",
    {
      preHandler: requireRole(service, MARKETING),
      schema: {
        tags,
        security,
        summary:
          "Save a new routing version (validated; 422 with each error's line) and make it active unless activate is false",
        body: z.object({ source, activate: z.boolean().default(true) }),
      },
    },
    async (req, reply) =>
      reply.status(201).send(
        await saveRouting(service.db, workspaceOf(req), req.body.source, {
          activate: req.body.activate,
          by: req.user?.email ?? null,
        }),
      ),
  );

  r.post(
    "/api/routing/versions/:version/activate",
    {
      preHandler: requireRole(service, MARKETING),
      schema: {
        tags,
        security,
        summary: "Make an earlier routing version active again",
        params: z.object({ version: z.coerce.number().int().min(1) }),
      },
    },
    async (req) => activateRouting(service.db, workspaceOf(req), req.params.version),
  );
}
