import type { FastifyRequest } from "fastify";
import { QualifyError } from "../errors.js";
import { CSRF_HEADER, SESSION_COOKIE, sessionFor } from "../web/web-sessions.js";
import { type Role, type User, userForToken, workspaceForWriteKey } from "./credentials.js";
import type { Service } from "./service.js";

declare module "fastify" {
  interface FastifyRequest {
    user: User | null;
  }
}

const unauthorized = (message: string) =>
  new QualifyError("UNAUTHORIZED", message, [{ path: "Authorization", message }]);

function basicUser(header: string | undefined): string | null {
  const m = header?.match(/^Basic\s+(.+)$/i);
  if (!m?.[1]) return null;
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? decoded : decoded.slice(0, colon);
}

/** Write keys change rarely and are checked on every ingest call: remember them for a minute. */
const KEY_CACHE_MS = 60_000;
const keyCache = new WeakMap<Service, Map<string, { ws: string | null; until: number }>>();

/** The workspace of the request's write key: Basic auth (`writeKey:`), or `writeKey` in the body. */
export async function authenticateWriteKey(service: Service, req: FastifyRequest): Promise<string> {
  const body = req.body as { writeKey?: unknown } | undefined;
  const key =
    basicUser(req.headers.authorization) ??
    (typeof body === "object" && body !== null && typeof body.writeKey === "string" ? body.writeKey : null);
  if (!key)
    throw unauthorized("send the write key as Basic auth (writeKey as the user) or as writeKey in the body");
  const cache = keyCache.get(service) ?? new Map<string, { ws: string | null; until: number }>();
  keyCache.set(service, cache);
  const now = Date.now();
  let hit = cache.get(key);
  if (!hit || hit.until < now) {
    hit = { ws: await workspaceForWriteKey(service.db, key), until: now + KEY_CACHE_MS };
    if (cache.size > 1000) cache.clear();
    cache.set(key, hit);
  }
  if (hit.ws === null) throw unauthorized("unknown or revoked write key");
  return hit.ws;
}

const LOCAL_USER: User = {
  id: "local-cli",
  workspaceId: "default",
  email: "cli@localhost",
  name: "qualify CLI on this machine",
  role: "admin",
  teams: [],
};

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * The request's user: by `Authorization: Bearer <token>`, or else by the dashboard's session cookie
 * (src/web/web-sessions.ts), in which case a state-changing request must also send the session's
 * CSRF token in `X-CSRF-Token`.
 */
async function requestUser(service: Service, req: FastifyRequest): Promise<User> {
  const header = req.headers.authorization;
  const cookie = req.cookies?.[SESSION_COOKIE];
  if (header === undefined && cookie) {
    const session = await sessionFor(service.db, cookie);
    if (!session) throw unauthorized("the session has expired or ended; log in again");
    if (!SAFE_METHODS.has(req.method) && req.headers[CSRF_HEADER] !== session.csrfToken)
      throw new QualifyError("FORBIDDEN", "missing or wrong CSRF token; reload the page", [
        { path: "X-CSRF-Token", message: "must equal the session's csrfToken (GET /api/session)" },
      ]);
    return session.user;
  }
  const m = header?.match(/^Bearer\s+(\S+)$/i);
  if (!m?.[1]) throw unauthorized("send an API token as 'Authorization: Bearer <token>', or log in");
  const token = m[1];
  const user =
    service.localToken !== null && token === service.localToken
      ? LOCAL_USER
      : await userForToken(service.db, token);
  if (!user) throw unauthorized("unknown or revoked API token (a write key cannot read)");
  return user;
}

/** A preHandler: the request must come from a user (token or session) with one of `roles`. */
export function requireRole(service: Service, roles: readonly Role[]) {
  return async (req: FastifyRequest) => {
    const user = await requestUser(service, req);
    if (!roles.includes(user.role))
      throw new QualifyError(
        "FORBIDDEN",
        `role ${user.role} may not do this; it needs ${roles.join(" or ")}`,
        [{ path: "role", message: `needs ${roles.join(" or ")}` }],
      );
    req.user = user;
  };
}

/** The workspace of the request's user; routes call it after `requireRole` has set the user. */
export function workspaceOf(req: FastifyRequest): string {
  if (!req.user) throw unauthorized("send an API token as 'Authorization: Bearer <token>'");
  return req.user.workspaceId;
}

export const ANY_ROLE: readonly Role[] = ["admin", "marketer", "sales"];
export const MARKETING: readonly Role[] = ["admin", "marketer"];
export const ADMIN: readonly Role[] = ["admin"];
