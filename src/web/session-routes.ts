import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import * as z from "zod";
import { ADMIN, ANY_ROLE, requireRole } from "../api/authenticate.js";
import { findUser } from "../api/credentials.js";
import type { Service } from "../api/service.js";
import { QualifyError } from "../errors.js";
import { hashPassword, verifyPassword } from "./password.js";
import { logIn, logOut, SESSION_COOKIE, sessionFor, setPassword } from "./web-sessions.js";

/**
 * The dashboard's login (docs/dashboard.md): `POST /api/session` logs in with email and password
 * and sets the session cookie; `GET /api/session` answers who is logged in, with the CSRF token
 * the dashboard sends back on every state-changing request; `DELETE /api/session` logs out.
 * Passwords are set by an admin (`PUT /api/users/:id/password`), or by users themselves with
 * their current one.
 */
export function sessionRoutes(app: FastifyInstance, service: Service): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ["session"];
  // Secure when the dashboard is reached over HTTPS (directly, or behind a proxy that says so).
  const secure = (req: FastifyRequest) =>
    req.protocol === "https" ||
    req.headers["x-forwarded-proto"] === "https" ||
    (service.config.publicUrl?.startsWith("https:") ?? false);
  const clear = (req: FastifyRequest, reply: FastifyReply) =>
    reply.clearCookie(SESSION_COOKIE, { path: "/", httpOnly: true, sameSite: "lax", secure: secure(req) });

  r.post(
    "/api/session",
    {
      schema: {
        tags,
        summary:
          "Log in to the dashboard: sets an HTTP-only session cookie and answers the user and the CSRF token (5 failures per email in 15 minutes: 429)",
        body: z.object({ email: z.string().min(1), password: z.string().min(1) }),
      },
    },
    async (req, reply) => {
      const { id, session } = await logIn(
        service.db,
        { ...req.body, address: req.ip },
        service.config.sessionHours,
      );
      reply.setCookie(SESSION_COOKIE, id, {
        path: "/",
        httpOnly: true,
        sameSite: "lax",
        secure: secure(req),
        maxAge: service.config.sessionHours * 3600,
      });
      return session;
    },
  );

  r.get(
    "/api/session",
    {
      schema: { tags, summary: "The logged-in user, the session's CSRF token and expiry (401 without one)" },
    },
    async (req) => {
      const id = req.cookies[SESSION_COOKIE];
      const session = id ? await sessionFor(service.db, id) : null;
      if (!session)
        throw new QualifyError("UNAUTHORIZED", "not logged in", [{ path: "cookie", message: "no session" }]);
      return session;
    },
  );

  r.delete(
    "/api/session",
    {
      preHandler: requireRole(service, ANY_ROLE),
      schema: { tags, summary: "Log out: ends the session (send X-CSRF-Token) and clears the cookie" },
    },
    async (req, reply) => {
      const id = req.cookies[SESSION_COOKIE];
      if (id) await logOut(service.db, id);
      clear(req, reply);
      return reply.status(204).send();
    },
  );

  r.put(
    "/api/users/:id/password",
    {
      preHandler: requireRole(service, ANY_ROLE),
      schema: {
        tags: ["admin"],
        security: [{ bearer: [] }],
        summary:
          "Set a user's dashboard password (an admin, or the user with the current one); ends the user's sessions",
        params: z.object({ id: z.string().min(1).describe("user id or email") }),
        body: z.object({
          password: z.string(),
          currentPassword: z.string().optional().describe("required when users set their own"),
        }),
      },
    },
    async (req, reply) => {
      const me = req.user as NonNullable<typeof req.user>;
      const user = await findUser(service.db, me.workspaceId, req.params.id);
      if (!ADMIN.includes(me.role)) {
        const rows = await service.db.query<{ password_hash: string | null }>(
          "select password_hash from users where workspace_id = $1 and id = $2",
          [me.workspaceId, me.id],
        );
        const stored = rows[0]?.password_hash;
        const ok =
          user.id === me.id &&
          stored != null &&
          (await verifyPassword(req.body.currentPassword ?? "", stored));
        if (!ok)
          throw new QualifyError(
            "FORBIDDEN",
            "only an admin sets another user's password; your own needs the current one",
            [{ path: "currentPassword", message: "missing or wrong" }],
          );
      }
      await setPassword(service.db, user, await hashPassword(req.body.password));
      return reply.status(204).send();
    },
  );
}
