import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import * as z from "zod";
import { hashPassword } from "../../web/password.js";
import { setPassword } from "../../web/web-sessions.js";
import { ADMIN, requireRole, workspaceOf } from "../authenticate.js";
import { createToken, createUser, createWriteKey, findUser, listUsers, ROLES } from "../credentials.js";
import type { Service } from "../service.js";

export function adminRoutes(app: FastifyInstance, service: Service): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const admin = requireRole(service, ADMIN);
  const tags = ["admin"];
  const security = [{ bearer: [] }];

  r.get("/api/users", { preHandler: admin, schema: { tags, security, summary: "Users" } }, async (req) =>
    listUsers(service.db, workspaceOf(req)),
  );

  r.post(
    "/api/users",
    {
      preHandler: admin,
      schema: {
        tags,
        security,
        summary: "Create a user with a role and teams",
        body: z.object({
          email: z.email(),
          role: z.enum(ROLES),
          teams: z.array(z.string().min(1)).default([]),
          name: z.string().min(1).optional(),
          password: z.string().optional().describe("a dashboard password (at least 10 characters)"),
        }),
      },
    },
    async (req, reply) => {
      const { password, ...u } = req.body;
      const hash = password === undefined ? null : await hashPassword(password);
      const user = await service.db.transaction(async (tx) => {
        const created = await createUser(tx, workspaceOf(req), u);
        if (hash) await setPassword(tx, created, hash);
        return created;
      });
      return reply.status(201).send(user);
    },
  );

  r.post(
    "/api/tokens",
    {
      preHandler: admin,
      schema: {
        tags,
        security,
        summary: "Create an API token for a user; the token is shown only in this answer",
        body: z.object({
          user: z.string().min(1).describe("user id or email"),
          name: z.string().min(1).default("api"),
        }),
      },
    },
    async (req, reply) => {
      const user = await findUser(service.db, workspaceOf(req), req.body.user);
      const t = await createToken(service.db, workspaceOf(req), user.id, req.body.name);
      return reply.status(201).send({ ...t, user: { id: user.id, email: user.email, role: user.role } });
    },
  );

  r.post(
    "/api/keys",
    {
      preHandler: admin,
      schema: {
        tags,
        security,
        summary: "Create a write key (ingest only; it can read nothing); shown only in this answer",
        body: z.object({ name: z.string().min(1).default("source") }),
      },
    },
    async (req, reply) =>
      reply.status(201).send(await createWriteKey(service.db, workspaceOf(req), req.body.name)),
  );
}
