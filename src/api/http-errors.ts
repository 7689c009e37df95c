import type { FastifyError, FastifyInstance } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { isDatabaseUnavailable } from "../db/database-unavailable.js";
import { ERROR_CODES, type ErrorCode, QualifyError } from "../errors.js";
import { LOGIN_WINDOW_MINUTES } from "../web/web-sessions.js";

/**
 * The HTTP edge of the one error type: every error leaves as JSON with the code, a message, and
 * the field and reason of the first problem (`details` lists them all). Unknown errors are 500s
 * and are logged; their text is not sent.
 */
export interface ErrorBody {
  error: ErrorCode | "INTERNAL";
  message: string;
  field?: string;
  reason?: string;
  details?: { path: string; message: string; line?: number; column?: number }[];
}

export function errorBody(e: QualifyError): ErrorBody {
  const first = e.details[0];
  return {
    error: e.code,
    message: e.message,
    ...(first ? { field: first.path, reason: first.message } : {}),
    ...(e.details.length > 0
      ? {
          details: e.details.map((d) => ({
            path: d.path,
            message: d.message,
            ...(d.line === undefined ? {} : { line: d.line }),
            ...(d.column === undefined ? {} : { column: d.column }),
          })),
        }
      : {}),
  };
}

function fromFastify(e: FastifyError): QualifyError | null {
  if (hasZodFastifySchemaValidationErrors(e)) {
    const details = e.validation.map((v) => {
      const path = [e.validationContext, ...String(v.instancePath).split("/").filter(Boolean)].filter(
        Boolean,
      );
      return {
        path: path.slice(1).join(".") || String(e.validationContext),
        message: v.message ?? "invalid",
      };
    });
    return new QualifyError("INPUT_INVALID", `invalid ${e.validationContext}`, details);
  }
  if (e.code === "FST_ERR_CTP_BODY_TOO_LARGE") return new QualifyError("PAYLOAD_TOO_LARGE", e.message);
  if (e.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE")
    return new QualifyError("UNSUPPORTED_MEDIA_TYPE", e.message);
  if (e.code === "FST_ERR_CTP_EMPTY_JSON_BODY" || e.code === "FST_ERR_CTP_INVALID_JSON_BODY")
    return new QualifyError("BODY_UNPARSEABLE", e.message);
  const status = e.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const code = (Object.keys(ERROR_CODES) as ErrorCode[]).find((c) => ERROR_CODES[c].status === status);
    return new QualifyError(code ?? "INPUT_INVALID", e.message);
  }
  return null;
}

/**
 * SQLSTATEs the database answers when a value from the request cannot be stored or compared: a
 * string holding U+0000 (text, or jsonb's \u0000), an integer out of its column's range. A lead id,
 * query parameter or name in a body can carry them; they are the client's error, not a 500.
 */
const BAD_VALUE_SQLSTATES = new Set(["22021", "22P05", "22003"]);

function fromDatabase(e: unknown): QualifyError | null {
  if (isDatabaseUnavailable(e))
    return new QualifyError(
      "NOT_READY",
      "the database is unavailable; retry shortly",
      [{ path: "(database)", message: "unreachable or not accepting connections" }],
      { cause: e },
    );
  const code = (e as { code?: unknown }).code;
  if (typeof code !== "string" || !BAD_VALUE_SQLSTATES.has(code)) return null;
  return new QualifyError("INPUT_INVALID", `a value in the request cannot be used: ${(e as Error).message}`, [
    { path: "(request)", message: "holds U+0000, or a number out of range" },
  ]);
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error, req, reply) => {
    const e =
      error instanceof QualifyError ? error : (fromFastify(error as FastifyError) ?? fromDatabase(error));
    if (e) {
      // SDKs retry a 503 after Retry-After; nothing was stored, so the retry loses nothing. The
      // operator sees why in the log (an unreachable database, a timeout and its setting).
      if (e.status === 503) {
        reply.header("Retry-After", "5");
        req.log.warn(
          { code: e.code, cause: e.cause instanceof Error ? e.cause.message : undefined },
          e.message,
        );
      }
      if (e.status === 429) reply.header("Retry-After", String(LOGIN_WINDOW_MINUTES * 60));
      return reply.status(e.status).send(errorBody(e));
    }
    req.log.error({ err: error }, "unhandled error");
    return reply.status(500).send({ error: "INTERNAL", message: "internal error; see the server log" });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ error: "NOT_FOUND", message: `no route ${req.method} ${req.url}` }),
  );
}
