import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import * as z from "zod";
import {
  createPublishableKey,
  listPublishableKeys,
  revokePublishableKey,
} from "../../nurture/publishable-keys.js";
import { MARKETING, requireRole, workspaceOf } from "../authenticate.js";
import type { Service } from "../service.js";

/** Publishable keys for the personalisation endpoint (docs/audiences.md): create, list, revoke. */
export function publishableKeyRoutes(app: FastifyInstance, service: Service): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ["audiences"];
  const security = [{ bearer: [] }];
  const marketing = requireRole(service, MARKETING);

  r.post(
    "/api/publishable-keys",
    {
      preHandler: marketing,
      schema: {
        tags,
        security,
        summary: "Create a publishable key (pk_…) for websites, usable only from the origins listed",
        body: z.object({
          name: z.string().min(1).max(200).optional().describe("the website it is for"),
          origins: z
            .array(z.string().min(1).max(300))
            .min(1)
            .max(50)
            .describe("exact origins such as https://www.acme.example (scheme, host and port; no wildcard)"),
        }),
      },
    },
    async (req, reply) => {
      const key = await createPublishableKey(service.db, workspaceOf(req), req.body, service.clock());
      await service.db.sync();
      return reply.status(201).send(key);
    },
  );

  r.get(
    "/api/publishable-keys",
    { preHandler: marketing, schema: { tags, security, summary: "Publishable keys, revoked ones too" } },
    async (req) => ({ keys: await listPublishableKeys(service.db, workspaceOf(req)) }),
  );

  r.delete(
    "/api/publishable-keys/:id",
    {
      preHandler: marketing,
      schema: {
        tags,
        security,
        summary: "Revoke a publishable key: it stops working at once",
        params: z.object({ id: z.string().min(1).max(200).describe("key id (pkid_…)") }),
      },
    },
    async (req) => {
      const key = await revokePublishableKey(service.db, workspaceOf(req), req.params.id, service.clock());
      await service.db.sync();
      return key;
    },
  );
}
