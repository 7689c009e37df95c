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
