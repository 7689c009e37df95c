import nodemailer, { type Transporter } from "nodemailer";
import type { ClaimedDelivery, Target } from "./deliveries.js";
import { renderEmail } from "./fan-out.js";
import { SIGNATURE_HEADER, signatureHeader } from "./signature.js";

/**
 * One attempt of one delivery, outside any transaction: an HTTP POST with a timeout, or an email
 * over SMTP. Never throws: every failure is an attempt result.
 */

export interface AttemptResult {
  ok: boolean;
  /** HTTP status, or the SMTP reply code of a refusal. */
  status: number | null;
  error: string | null;
  durationMs: number;
  /** The receiver asked to wait this long (429/503 with Retry-After). */
  retryAfterMs: number | null;
  /** 410 Gone: the receiver asks never to be called again. */
  gone: boolean;
  /** The attempt was cut short because the sender is stopping: not an attempt at all. */
  aborted: boolean;
}

/** How much of a receiver's answer is read (for the error message) before it is cut off. */
const READ_LIMIT = 2_048;

async function readSome(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < READ_LIMIT) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).toString("utf8").slice(0, READ_LIMIT);
}

function retryAfter(res: Response, now: number): number | null {
  const v = res.headers.get("retry-after");
  if (!v) return null;
  if (/^\d+$/.test(v.trim())) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - now) : null;
}

function describeError(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err?.name === "TimeoutError") return "timed out";
  const cause = err?.cause;
  if (cause?.code) return `${cause.code}${cause.message ? `: ${cause.message}` : ""}`;
  return err?.message ?? String(e);
}

export const USER_AGENT = "Qualify-Webhooks/1";

export async function postWebhook(
  d: ClaimedDelivery,
  s: Target,
  o: { now: number; timeoutMs: number; stop: AbortSignal },
): Promise<AttemptResult> {
  const started = performance.now();
  const took = () => performance.now() - started;
  const t = Math.floor(o.now / 1000);
  // A timer of our own rather than AbortSignal.any([AbortSignal.timeout(…), stop]): on Node 20 the
  // timeout signal inside `any` is held only weakly, and a garbage collection mid-request can drop
  // it, so that the request never times out (nodejs/node#57736).
  const cut = new AbortController();
  const timer = setTimeout(() => cut.abort(new DOMException("timed out", "TimeoutError")), o.timeoutMs);
  const onStop = () => cut.abort(o.stop.reason);
  if (o.stop.aborted) onStop();
  else o.stop.addEventListener("abort", onStop, { once: true });
  try {
    const res = await fetch(s.url as string, {
      method: "POST",
      body: d.body,
      redirect: "manual",
      headers: {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "Qualify-Id": d.eventId,
        "Qualify-Event": d.topic,
        "Qualify-Delivery": String(d.id),
        "Qualify-Attempt": String(d.attempts),
        [SIGNATURE_HEADER]: signatureHeader(s.secret, d.body, t),
      },
      signal: cut.signal,
    });
    const text = await readSome(res);
    const ok = res.status >= 200 && res.status < 300;
    return {
      ok,
      status: res.status,
      error: ok ? null : `HTTP ${res.status}${text ? `: ${text.replace(/\s+/g, " ").slice(0, 300)}` : ""}`,
      durationMs: took(),
      retryAfterMs: ok ? null : retryAfter(res, Date.now()),
      gone: res.status === 410,
      aborted: false,
    };
  } catch (e) {
    return {
      ok: false,
      status: null,
      error: describeError(e),
      durationMs: took(),
      retryAfterMs: null,
      gone: false,
      aborted: o.stop.aborted,
    };
  } finally {
    clearTimeout(timer);
    o.stop.removeEventListener("abort", onStop);
  }
}

/** SMTP, through one pooled nodemailer transport per sender. */
export class Mailer {
  private transport: Transporter | null = null;

  constructor(
    private readonly url: string | undefined,
    private readonly from: string,
    private readonly timeoutMs: number,
  ) {}

  async send(d: ClaimedDelivery): Promise<AttemptResult> {
    const started = performance.now();
    const took = () => performance.now() - started;
    const fail = (error: string, status: number | null = null): AttemptResult => ({
      ok: false,
      status,
      error,
      durationMs: took(),
      retryAfterMs: null,
      gone: false,
      aborted: false,
    });
    if (!this.url) return fail("SMTP_URL is not set: email cannot be sent");
    if (!d.recipient) return fail("no recipient");
    try {
      // The URL's own parameters (?pool=false, say) win over these.
      this.transport ??= nodemailer.createTransport({
        url: this.url,
        pool: true,
        maxConnections: 4,
        connectionTimeout: this.timeoutMs,
        greetingTimeout: this.timeoutMs,
        socketTimeout: this.timeoutMs,
      });
      const mail = renderEmail(d.body);
      await this.transport.sendMail({
        from: this.from,
        to: d.recipient,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        // The same on every attempt, so a mailbox can tell a repeat.
        messageId: `<${d.eventId}.${d.subscriptionId}@qualify>`,
        headers: { "Qualify-Id": d.eventId, "Qualify-Event": d.topic },
      });
      return {
        ok: true,
        status: 250,
        error: null,
        durationMs: took(),
        retryAfterMs: null,
        gone: false,
        aborted: false,
      };
    } catch (e) {
      const err = e as Error & { responseCode?: number };
      return fail(err.message ?? String(e), typeof err.responseCode === "number" ? err.responseCode : null);
    }
  }

  close(): void {
    this.transport?.close();
    this.transport = null;
  }
}
