import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import * as z from "zod";
import { QualifyError } from "../../errors.js";
import { personalize } from "../../nurture/personalize.js";
import { findPublishableKey } from "../../nurture/publishable-keys.js";
import type { Service } from "../service.js";

/**
 * `GET /v1/personalize`: what a website may show its visitor (docs/audiences.md). Called from
 * browsers with a publishable key (`X-Qualify-Key`, or `?key=`), from the key's allowed origins
 * only; answers for an anonymousId, never a userId; returns a stage bucket and public audiences.
 * Not under bearer auth.
 */

const KEY_HEADER = "x-qualify-key";
const ALLOWED_QUERY = new Set(["anonymousId", "key"]);

const fail = (code: "UNAUTHORIZED" | "FORBIDDEN" | "INPUT_INVALID", path: string, message: string) =>
  new QualifyError(code, message, [{ path, message }]);

/** The key's workspace, once the key is valid and the request comes from one of its origins. */
async function checkKey(service: Service, req: FastifyRequest, key: string | undefined): Promise<string> {
  if (!key)
    throw fail("UNAUTHORIZED", "X-Qualify-Key", "send a publishable key (pk_…) as X-Qualify-Key or ?key=");
  const found = await findPublishableKey(service.db, key);
  if (!found) throw fail("UNAUTHORIZED", "X-Qualify-Key", "unknown or revoked publishable key");
  const origin = req.headers.origin;
  if (!origin) throw fail("FORBIDDEN", "Origin", "no Origin header: call this endpoint from a browser page");
  if (!found.origins.includes(origin))
    throw fail("FORBIDDEN", "Origin", `origin ${origin} is not on this key's allow-list`);
  return found.workspaceId;
}

const header = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

export function personalizeRoutes(app: FastifyInstance, service: Service): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const keyOf = (req: FastifyRequest, query: { key?: string | undefined }) =>
    header(req.headers[KEY_HEADER]) ?? query.key;

  r.get(
    "/v1/personalize",
    {
      logLevel: "warn",
      schema: {
        tags: ["personalisation"],
        summary:
          "For websites: the visitor's stage bucket and public audiences, by anonymousId; publishable key as X-Qualify-Key or ?key=, from an allowed Origin",
        security: [],
        querystring: z.looseObject({
          anonymousId: z
            .string()
            .max(400)
            .optional()
            .describe("the visitor's anonymousId (analytics.user().anonymousId())"),
          key: z.string().max(200).optional().describe("the publishable key, when not sent as X-Qualify-Key"),
        }),
      },
    },
    async (req, reply) => {
      reply.header("vary", "Origin");
      const ws = await checkKey(service, req, keyOf(req, req.query));
      reply.header("access-control-allow-origin", req.headers.origin as string);
      reply.header("cache-control", "private, no-store");
      const other = Object.keys(req.query).find((k) => !ALLOWED_QUERY.has(k));
      if (other !== undefined)
        throw fail(
          "INPUT_INVALID",
          other,
          `${other}: this endpoint answers only for an anonymousId, never ${other}`,
        );
      const anonymousId = req.query.anonymousId;
      if (!anonymousId) throw fail("INPUT_INVALID", "anonymousId", "anonymousId is required");
      return personalize(service.db, ws, anonymousId);
    },
  );

  // The CORS preflight: browsers send it before a GET with X-Qualify-Key; the GET is checked itself.
  r.options(
    "/v1/personalize",
    { logLevel: "warn", schema: { hide: true, querystring: z.looseObject({ key: z.string().optional() }) } },
    async (req, reply) => {
      reply.header("vary", "Origin");
      const origin = req.headers.origin;
      if (!origin) throw fail("FORBIDDEN", "Origin", "no Origin header");
      if (req.query.key !== undefined) await checkKey(service, req, req.query.key);
      return reply
        .status(204)
        .header("access-control-allow-origin", origin)
        .header("access-control-allow-methods", "GET, OPTIONS")
        .header("access-control-allow-headers", "X-Qualify-Key")
        .header("access-control-max-age", "600")
        .send();
    },
  );
}
