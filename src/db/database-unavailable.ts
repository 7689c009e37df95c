import { QualifyError } from "../errors.js";

/**
 * Errors that mean "the database cannot be reached now" rather than "this request is wrong": a
 * refused or broken connection, a server shutting down or starting, a database not accepting
 * connections, a pool that could not connect in time. The API answers them 503 with Retry-After,
 * and the pipeline simply retries.
 */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENOTFOUND",
]);

export function isDatabaseUnavailable(e: unknown): boolean {
  if (typeof e !== "object" || e === null) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string") {
    if (NETWORK_CODES.has(code)) return true;
    // A unix socket that is gone: the server is stopped.
    if (code === "ENOENT" && (e as { syscall?: unknown }).syscall === "connect") return true;
    // SQLSTATE class 08: connection exceptions; 57P01-57P03: shutdown, crash, cannot connect now;
    // 55000 with "not currently accepting connections"; 53300: too many connections.
    if (code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03" || code === "53300")
      return true;
    if (code === "55000" && /not currently accepting connections/.test(String((e as Error).message)))
      return true;
  }
  const message = String((e as Error).message ?? "");
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed/i.test(
    message,
  );
}

/** The pool's limits, as configured; named in timeout errors. */
export interface DatabaseLimits {
  poolSize: number;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
}

/**
 * A driver timeout as the one error type (DATABASE_TIMEOUT, a 503), naming what timed out and the
 * setting that limits it; null for any other error. A statement timeout is SQLSTATE 57014 (a user's
 * cancel shares the code, not the message); a pool checkout timeout is pg-pool's own message.
 */
export function databaseTimeout(e: unknown, limits: DatabaseLimits): QualifyError | null {
  if (typeof e !== "object" || e === null || e instanceof QualifyError) return null;
  const { code, message } = e as { code?: unknown; message?: unknown };
  if (code === "57014" && /statement timeout/.test(String(message))) {
    const ms = limits.statementTimeoutMs;
    return new QualifyError(
      "DATABASE_TIMEOUT",
      `the database did not answer within ${ms} ms (QUALIFY_DB_STATEMENT_TIMEOUT_MS); retry shortly`,
      [{ path: "QUALIFY_DB_STATEMENT_TIMEOUT_MS", message: `a statement ran longer than ${ms} ms` }],
      { cause: e },
    );
  }
  if (message === "timeout exceeded when trying to connect") {
    const ms = limits.connectTimeoutMs;
    return new QualifyError(
      "DATABASE_TIMEOUT",
      `no database connection became free within ${ms} ms (QUALIFY_DB_CONNECT_TIMEOUT_MS); all ${limits.poolSize} (QUALIFY_DB_POOL_SIZE) are busy; retry shortly`,
      [
        {
          path: "QUALIFY_DB_CONNECT_TIMEOUT_MS",
          message: `waited ${ms} ms for one of ${limits.poolSize} connections`,
        },
      ],
      { cause: e },
    );
  }
  return null;
}
