/**
 * What an SMTP failure means for a marketing email (pure), so that no email is sent twice:
 * - `retry`: the server never took the message (it could not be reached, or answered 4xx): send
 *   again later, with backoff;
 * - `bounce`: a permanent refusal (5xx) of the address or message: suppress the address;
 * - `unknown`: the exchange broke off once the message may have been taken (a timeout or a dropped
 *   connection during DATA): never resent, shown to admins.
 */
export type SmtpOutcome = "retry" | "bounce" | "unknown";

interface SmtpError {
  code?: string;
  /** The system error under nodemailer's own code (ESOCKET with ECONNREFUSED, say). */
  originalCode?: string;
  responseCode?: number;
  command?: string;
  /** Which of nodemailer's timeouts fired (ETIMEDOUT). */
  timeoutType?: string;
}

/**
 * Errors that mean the server was never reached, so nothing was handed over. Not nodemailer's
 * `command: "CONN"`, nor ECONNECTION or ESOCKET by themselves: it reports every socket error and
 * the socket timeout that way, whatever the phase, a dropped connection or a reply to DATA that
 * never came included (the server may have taken the message).
 */
const NOT_CONNECTED = new Set([
  "EDNS",
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAUTH",
  "ETLS",
]);
/** Timeouts of the connection's setup, before any command: connecting, the greeting, TLS. */
const SETUP_TIMEOUTS = new Set(["CONNECT_TIMEOUT", "GREETING_TIMEOUT", "UPGRADE_TIMEOUT"]);

export function smtpOutcome(e: unknown): SmtpOutcome {
  const err = (e ?? {}) as SmtpError;
  const code = err.responseCode;
  // A bad login is the sender's problem, not the address's: fix the setting, then it goes.
  if (err.code === "EAUTH") return "retry";
  if (typeof code === "number" && code >= 500) return "bounce";
  if (typeof code === "number" && code >= 400) return "retry";
  if (NOT_CONNECTED.has(err.code ?? "") || NOT_CONNECTED.has(err.originalCode ?? "")) return "retry";
  if (err.code === "ETIMEDOUT" && SETUP_TIMEOUTS.has(err.timeoutType ?? "")) return "retry";
  return "unknown";
}
