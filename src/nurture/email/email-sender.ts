import nodemailer, { type Transporter } from "nodemailer";
import type { Database, Queryable } from "../../db/database.js";
import { arrayColumns } from "../../db/insert-rows.js";
import type { NewEvent } from "../../ingest/append-events.js";
import { Mutex } from "../../pipeline/mutex.js";
import { type Backoff, retryDelay } from "../../scheduler/backoff.js";
import { PollTimer } from "../../scheduler/poll-timer.js";
import { loadSettings, type NurtureSettings } from "../nurture-settings.js";
import { composeEmail } from "./compose-email.js";
import { EMAIL_EVENTS, emailEvent } from "./email-events.js";
import { smtpOutcome } from "./smtp-outcome.js";
import { linkKey, trackingUrls } from "./tracking-links.js";

/**
 * Sends queued marketing email at most once. Each claim (see `flow` for how claims and sends
 * overlap):
 * 1. takes back claims whose sender died mid-send: those attempts become `unknown` (the message
 *    may have gone) and are never resent;
 * 2. marks queued attempts to suppressed addresses `suppressed` (every send checks the list);
 * 3. claims due attempts (`for update skip locked`, so processes share them), marking them
 *    `sending` under a lease, and commits: the attempt row exists before any SMTP exchange;
 * 4. sends them outside any transaction, each with a timeout, `concurrency` at a time;
 * 5. records each outcome: sent; a retry with backoff when the server never took it; a bounce
 *    (5xx) that suppresses the address and records `Email Bounced`; or unknown.
 * It polls, and wakes when told. Tests call `runDue(at)` with their clock.
 */

export interface EmailSenderOptions {
  clock: () => number;
  pollMs: number;
  timeoutMs: number;
  smtpUrl: string | undefined;
  /** The From when the workspace's settings name none. */
  defaultFrom: string;
  /** The base URL of tracking and unsubscribe links (QUALIFY_PUBLIC_URL, else where the API listens). */
  publicUrl: () => string;
  /** SMTP exchanges at once in this process. */
  concurrency: number;
  /** Attempts before a message the server never took is given up (`failed`). */
  maxAttempts?: number;
  backoff?: Backoff;
  random?: () => number;
  /**
   * Sends one message; by default a pooled nodemailer SMTP transport to `smtpUrl`. Benchmarks pass
   * a stub here to measure everything but the SMTP exchange.
   */
  transport?: Pick<Transporter, "sendMail" | "close">;
  /** Events email produced (bounces), for the pipeline. */
  append: (events: NewEvent[]) => Promise<unknown>;
  onError?: (e: unknown) => void;
}

export const EMAIL_BACKOFF: Backoff = { baseMs: 30_000, capMs: 3_600_000 };

export interface EmailSenderStats {
  sent: number;
  retried: number;
  bounced: number;
  failed: number;
  unknown: number;
  suppressed: number;
  errors: number;
}

interface Claimed {
  workspace_id: string;
  id: string;
  lead_id: string;
  to_address: string;
  message_id: string;
  subject: string;
  html: string;
  text_body: string;
  attempts: number;
}

type Base = { id: string; ws: string; leadId: string; to: string; attempts: number };
type Failure = Base & { kind: "retry" | "bounce" | "unknown"; error: string; response: string | null };
type Result = (Base & { kind: "sent"; response: string }) | Failure;

export class EmailSender {
  readonly stats: EmailSenderStats = {
    sent: 0,
    retried: 0,
    bounced: 0,
    failed: 0,
    unknown: 0,
    suppressed: 0,
    errors: 0,
  };
  private transport: Pick<Transporter, "sendMail" | "close"> | null = null;
  private readonly timer = new PollTimer();
  private readonly passes = new Mutex();
  private running = false;
  /** Between `stop()` and its end: nothing more is claimed. */
  private stopping = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly db: Database,
    private readonly o: EmailSenderOptions,
  ) {}

  /** A claim holds this long; past it, the attempt is taken to be `unknown`. */
  get leaseMs(): number {
    return this.o.timeoutMs * 3 + 5_000;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    this.timer.wake();
    await this.loop;
    this.loop = null;
    this.transport?.close();
    this.transport = null;
    this.stopping = false;
  }

  wake(): void {
    this.timer.wake();
  }

  /**
   * Sends everything due at `at` (without it, due by the clock at each claim) until nothing due is
   * left; returns how many attempts it made.
   */
  runDue(at?: number): Promise<number> {
    return this.passes.run(() => this.flow(at));
  }

  private async run(): Promise<void> {
    let failing = 0;
    while (this.running) {
      try {
        this.timer.woken = false;
        await this.runDue();
        failing = 0;
      } catch (e) {
        this.stats.errors++;
        failing++;
        this.o.onError?.(e);
      }
      if (!this.running || (this.timer.woken && failing === 0)) continue;
      await this.timer.sleep(failing === 0 ? this.o.pollMs : Math.min(30_000, this.o.pollMs * 2 ** failing));
    }
  }

  /**
   * Keeps `concurrency` SMTP exchanges busy: workers take claimed attempts from a queue, which is
   * refilled (one claim of `2 × concurrency` at a time) whenever it runs below `concurrency`, so
   * claims overlap the sends; outcomes are recorded every `2 × concurrency` results, also
   * alongside the sends. A claimed attempt waits behind at most two sends of its worker, which the
   * lease (3 timeouts + 5 s) covers. Ends when a claim finds nothing due (or the sender stops).
   */
  private async flow(at?: number): Promise<number> {
    const per = this.o.concurrency;
    const queue: Claimed[] = [];
    const context = new Map<string, { settings: NurtureSettings; key: string }>();
    let total = 0;
    let exhausted = false;
    let failure: unknown = null;
    let claiming: Promise<void> | null = null;
    const refill = (): Promise<void> => {
      claiming ??= this.claim(at ?? this.o.clock(), 2 * per)
        .then(({ claimed, settings, keys }) => {
          for (const [ws, s] of settings) context.set(ws, { settings: s, key: keys.get(ws) as string });
          queue.push(...claimed);
          total += claimed.length;
          if (claimed.length === 0) exhausted = true;
        })
        .catch((e) => {
          failure ??= e;
          exhausted = true;
        })
        .finally(() => {
          claiming = null;
        });
      return claiming;
    };
    const results: Result[] = [];
    let recording: Promise<void> = Promise.resolve();
    const record = () => {
      const batch = results.splice(0);
      if (batch.length > 0)
        recording = recording.then(() =>
          this.record(batch, at ?? this.o.clock()).catch((e) => {
            failure ??= e;
          }),
        );
      return recording;
    };
    const worker = async () => {
      for (;;) {
        if (queue.length < per && !exhausted && !this.stopping) {
          const more = refill();
          if (queue.length === 0) await more;
        }
        const c = queue.shift();
        if (!c) {
          if (exhausted || this.stopping) return;
          continue;
        }
        const ws = context.get(c.workspace_id) as { settings: NurtureSettings; key: string };
        results.push(await this.send(c, ws.settings, ws.key));
        if (results.length >= 2 * per) void record();
      }
    };
    await Promise.all(Array.from({ length: per }, worker));
    await claiming;
    await record();
    if (failure) throw failure;
    return total;
  }

  /** One claim, in one transaction: steps 1–3 above. */
  private claim(now: number, limit: number) {
    return this.db.transaction(async (tx) => {
      const lost = await tx.query(
        `update email_attempts set status = 'unknown', lease_until = null,
           last_error = 'the sender stopped during the SMTP exchange: the message may have gone, so it is not resent'
         where status = 'sending' and lease_until <= $1 returning 1`,
        [now],
      );
      this.stats.unknown += lost.length;
      const suppressed = await tx.query(
        `update email_attempts a set status = 'suppressed', last_error = 'the address is suppressed: ' || s.reason
         from email_suppressions s
         where a.status = 'queued' and a.next_attempt_at <= $1 and s.workspace_id = a.workspace_id
           and s.email = lower(a.to_address) returning 1`,
        [now],
      );
      this.stats.suppressed += suppressed.length;
      const claimed = await tx.query<Claimed>(
        `update email_attempts a set status = 'sending', lease_until = $2, attempts = a.attempts + 1
         from (select workspace_id, id from email_attempts where status = 'queued' and next_attempt_at <= $1
               order by next_attempt_at limit $3 for update skip locked) c
         where a.workspace_id = c.workspace_id and a.id = c.id
         returning a.workspace_id, a.id, a.lead_id, a.to_address, a.message_id, a.subject, a.html, a.text_body,
           a.attempts`,
        [now, now + this.leaseMs, limit],
      );
      const settings = new Map<string, NurtureSettings>();
      const keys = new Map<string, string>();
      for (const ws of new Set(claimed.map((c) => c.workspace_id))) {
        settings.set(ws, await loadSettings(tx, ws));
        keys.set(ws, await linkKey(tx, ws));
      }
      return { claimed, settings, keys };
    });
  }

  private async send(c: Claimed, settings: NurtureSettings, key: string): Promise<Result> {
    const base = { id: c.id, ws: c.workspace_id, leadId: c.lead_id, to: c.to_address, attempts: c.attempts };
    if (!this.o.smtpUrl && !this.o.transport)
      return {
        ...base,
        kind: "retry",
        error: "SMTP_URL is not set: marketing email cannot be sent",
        response: null,
      };
    const mail = composeEmail(
      { subject: c.subject, html: c.html, text: c.text_body },
      {
        from: settings.from ?? this.o.defaultFrom,
        to: c.to_address,
        messageId: c.message_id,
        postalAddress: settings.postalAddress as string,
        urls: trackingUrls(this.o.publicUrl(), key, c.id),
      },
    );
    try {
      this.transport ??=
        this.o.transport ??
        nodemailer.createTransport({
          url: this.o.smtpUrl,
          pool: true,
          maxConnections: this.o.concurrency,
          connectionTimeout: this.o.timeoutMs,
          greetingTimeout: this.o.timeoutMs,
          socketTimeout: this.o.timeoutMs,
        });
      const info = await this.transport.sendMail(mail);
      return { ...base, kind: "sent", response: String(info.response ?? "") };
    } catch (e) {
      const err = e as Error & { response?: string };
      return {
        ...base,
        kind: smtpOutcome(e),
        error: err.message ?? String(e),
        response: err.response ?? null,
      };
    }
  }

  private async record(results: Result[], now: number): Promise<void> {
    const bounces: NewEvent[] = [];
    await this.db.transaction(async (tx) => {
      // The usual outcome, sent, in one statement; the others one by one.
      const sent = results.filter((r) => r.kind === "sent");
      if (sent.length > 0) {
        await tx.query(
          `update email_attempts a set status = 'sent', sent_at = $1, smtp_response = s.response, last_error = null,
             lease_until = null
           from unnest($2::text[], $3::text[], $4::text[]) as s(ws, id, response)
           where a.workspace_id = s.ws and a.id = s.id`,
          [
            now,
            ...arrayColumns(sent, [
              [(r) => r.ws, "text"],
              [(r) => r.id, "text"],
              [(r) => r.response, "text"],
            ]),
          ],
        );
        this.stats.sent += sent.length;
      }
      for (const r of results) if (r.kind !== "sent") await this.recordFailure(tx, r, now, bounces);
    });
    if (bounces.length > 0) await this.o.append(bounces);
  }

  private async recordFailure(tx: Queryable, r: Failure, now: number, bounces: NewEvent[]): Promise<void> {
    const set = (sql: string, params: unknown[]) =>
      tx.query(`update email_attempts set ${sql}, lease_until = null where workspace_id = $1 and id = $2`, [
        r.ws,
        r.id,
        ...params,
      ]);
    if (r.kind === "unknown") {
      this.stats.unknown++;
      return void (await set("status = 'unknown', last_error = $3, smtp_response = $4", [
        r.error,
        r.response,
      ]));
    }
    if (r.kind === "retry") {
      const giveUp = r.attempts >= (this.o.maxAttempts ?? 8);
      if (giveUp) this.stats.failed++;
      else this.stats.retried++;
      const at = now + retryDelay(r.attempts, this.o.backoff ?? EMAIL_BACKOFF, this.o.random ?? Math.random);
      return void (await set("status = $3, next_attempt_at = $4, last_error = $5, smtp_response = $6", [
        giveUp ? "failed" : "queued",
        at,
        r.error,
        r.response,
      ]));
    }
    this.stats.bounced++;
    await set("status = 'bounced', last_error = $3, smtp_response = $4", [r.error, r.response]);
    await tx.query(
      `insert into email_suppressions (workspace_id, email, reason, detail, lead_id, at)
       values ($1, lower($2), 'bounced', $3, $4, $5) on conflict (workspace_id, email) do nothing`,
      [r.ws, r.to, r.response ?? r.error, r.leadId, now],
    );
    const event = await emailEvent(
      tx,
      r.ws,
      r.leadId,
      {
        event: EMAIL_EVENTS.bounced,
        messageId: `bounce-${r.id}`,
        at: now,
        properties: { attemptId: r.id, email: r.to, reason: (r.response ?? r.error).slice(0, 500) },
      },
      now,
    );
    if (event) bounces.push(event);
  }
}
