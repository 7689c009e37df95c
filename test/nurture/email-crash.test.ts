import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { createPostgresDatabase } from "../support/postgres-database.js";
import { freePort, type QualifyProcess, spawnQualify, waitForHttp } from "../support/qualify-process.js";
import { type ReplyCode, SmtpSink } from "../support/smtp-sink.js";

/**
 * At most once across `kill -9` of a real `qualify start` (PostgreSQL): the attempt row is
 * committed before the SMTP exchange; a process killed mid-DATA leaves it `sending`, and once its
 * lease is over it becomes `unknown` (listed for admins) and is never sent again, while every
 * enrollment goes on to its next step. Then kills at random moments of a larger run: no step is
 * ever delivered twice, no enrollment is lost, and every attempt ends sent or unknown.
 */

const WRITE_KEY = "wk_email_crash_write_key_01";
const ADMIN_TOKEN = "qlf_email_crash_admin_token_01";
const START_MS = 60_000;
/** The SMTP timeout; a claim's lease is 3× it + 5 s = 11 s. */
const TIMEOUT_MS = 2_000;

const TEMPLATES = [
  `
id: tpl-one
subject: Welcome
html: <p>Welcome</p>
text: Welcome
`,
  `
id: tpl-two
subject: Following up
html: <p>Following up</p>
text: Following up
`,
];
const SEQUENCE = `
id: crash-seq
entry: { stage: lead }
steps:
  - { id: email-1, send: tpl-one }
  - { id: pause, wait: 5s }
  - { id: email-2, send: tpl-two }
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface AttemptRow {
  id: string;
  enrollment_id: string;
  step_id: string;
  message_id: string;
  status: string;
}

describe.skipIf(!process.env.DATABASE_URL)("marketing email across kill -9 (PostgreSQL)", () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });

  /** A database, an SMTP sink, a way to start `qualify start` on them, and direct reads. */
  async function harness() {
    const database = await createPostgresDatabase();
    cleanup.push(database.drop);
    const dataDir = mkdtempSync(join(tmpdir(), "qualify-email-crash-"));
    cleanup.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const smtp = await SmtpSink.start();
    cleanup.push(() => smtp.close());
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    cleanup.push(() => client.end());
    const env: Record<string, string> = {
      DATABASE_URL: database.url,
      QUALIFY_DATA_DIR: dataDir,
      QUALIFY_WRITE_KEY: WRITE_KEY,
      QUALIFY_ADMIN_TOKEN: ADMIN_TOKEN,
      LOG_LEVEL: "warn",
      SMTP_URL: smtp.url,
      QUALIFY_SMTP_FROM: "Acme <news@acme.example>",
      QUALIFY_WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
      QUALIFY_SCHEDULER_POLL_MS: "100",
      QUALIFY_EMAIL_POLL_MS: "100",
    };
    const start = async (): Promise<QualifyProcess> => {
      const port = await freePort();
      const p = spawnQualify({ ...env, PORT: String(port) });
      cleanup.push(() => p.kill9());
      await p.waitForOutput(/listening/, START_MS);
      await waitForHttp(`${p.url}/healthz`, 10_000);
      return p;
    };
    const call = async (p: QualifyProcess, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${p.url}${path}`, {
        method,
        headers: {
          authorization: path.startsWith("/v1/")
            ? `Basic ${Buffer.from(`${WRITE_KEY}:`).toString("base64")}`
            : `Bearer ${ADMIN_TOKEN}`,
          "content-type": "application/json",
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      // biome-ignore lint/suspicious/noExplicitAny: loosely read
      return { status: res.status, body: (await res.json()) as any };
    };
    const configure = async (p: QualifyProcess) => {
      const settings = await call(p, "PUT", "/api/nurture/settings", {
        postalAddress: "Acme Inc., 5 Main Street, Springfield",
        defaultConsent: "opt-in",
        quietHours: null,
        frequencyCap: null,
      });
      expect(settings.status, JSON.stringify(settings.body)).toBe(200);
      for (const source of TEMPLATES) {
        const saved = await call(p, "POST", "/api/templates", { source });
        expect(saved.status, JSON.stringify(saved.body)).toBe(201);
      }
      const seq = await call(p, "POST", "/api/sequences", { source: SEQUENCE });
      expect(seq.status, JSON.stringify(seq.body)).toBe(201);
    };
    /** `n` leads with consent, each made a lead by a form (the default model). */
    const ingestLeads = async (p: QualifyProcess, prefix: string, n: number) => {
      const now = Date.now();
      const batch = Array.from({ length: n }, (_, i) => [
        {
          type: "identify",
          userId: `${prefix}-${i}`,
          traits: { email: `${prefix}-${i}@crash.example`, email_consent: true },
          timestamp: new Date(now - 2000).toISOString(),
        },
        {
          type: "track",
          userId: `${prefix}-${i}`,
          event: "Form Submitted",
          timestamp: new Date(now - 1000).toISOString(),
        },
      ]).flat();
      const res = await call(p, "POST", "/v1/batch", { batch });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.rejected).toEqual([]);
    };
    const query = async <T>(sql: string, params: unknown[] = []): Promise<T[]> =>
      (await client.query(sql, params)).rows as T[];
    const attempts = () =>
      query<AttemptRow>(
        "select id, enrollment_id, step_id, message_id, status from email_attempts order by created_at, id",
      );
    const enrollments = () =>
      query<{ id: string; lead_id: string; status: string }>(
        "select id, lead_id, status from enrollments order by entered_at, id",
      );
    /** Waits until `n` enrollments have all ended and no attempt is queued or being sent. */
    const untilQuiet = async (n: number, timeoutMs: number) => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const e = await enrollments();
        const open = await query<{ n: number }>(
          "select count(*)::int as n from email_attempts where status in ('queued', 'sending')",
        );
        if (e.length === n && e.every((x) => x.status !== "active") && open[0]?.n === 0) return;
        if (Date.now() > until)
          throw new Error(
            `not quiet after ${timeoutMs} ms: ${e.length} enrollments, ${e.filter((x) => x.status === "active").length} active, ${open[0]?.n} attempts open`,
          );
        await sleep(200);
      }
    };
    /** How many messages with each Message-ID reached the sink (the DATA of each, whatever the reply). */
    const deliveries = () => {
      const count = new Map<string, number>();
      for (const m of smtp.seen) {
        const id = String(m.parsed.messageId);
        count.set(id, (count.get(id) ?? 0) + 1);
      }
      return count;
    };
    return {
      smtp,
      start,
      call,
      configure,
      ingestLeads,
      query,
      attempts,
      enrollments,
      untilQuiet,
      deliveries,
    };
  }

  it("a kill mid-DATA leaves the attempt unknown, never resent; every enrollment goes on", {
    timeout: 180_000,
  }, async () => {
    const h = await harness();
    const LEADS = 5;
    // The first message's DATA is taken in full, and its reply never comes.
    const hold: { id: string | null } = { id: null };
    let onHeld: () => void = () => undefined;
    const heldSeen = new Promise<void>((resolve) => {
      onHeld = resolve;
    });
    h.smtp.onMessage = (mail) => {
      if (hold.id !== null) return undefined;
      hold.id = String(mail.parsed.messageId);
      onHeld();
      return new Promise<ReplyCode>(() => undefined);
    };

    const first = await h.start();
    await h.configure(first);
    await h.ingestLeads(first, "mid", LEADS);
    await Promise.race([
      heldSeen,
      sleep(60_000).then(() => {
        throw new Error(`no email reached the sink:\n${first.stdout()}\n${first.stderr()}`);
      }),
    ]);
    // Well within the SMTP timeout: the sender is waiting for the reply to DATA.
    await first.kill9();
    const held = hold.id as string;
    const at = (await h.attempts()).find((a) => a.message_id === held);
    expect(at, "the attempt row was committed before the SMTP exchange").toBeDefined();
    expect(at?.status).toBe("sending");

    const second = await h.start();
    await h.untilQuiet(LEADS, 90_000);

    // The attempt is unknown, listed for admins, and was never sent again.
    const unknown = (await h.call(second, "GET", "/api/email/attempts?status=unknown&limit=1000")).body
      .attempts as { id: string; messageId: string; lastError: string }[];
    const shown = unknown.find((u) => u.id === at?.id);
    expect(shown).toMatchObject({ messageId: held });
    expect(shown?.lastError).toMatch(/not resent/);
    const count = h.deliveries();
    expect(count.get(held)).toBe(1);
    expect(h.smtp.mails.map((m) => m.parsed.messageId)).not.toContain(held);

    // No step went twice, and no enrollment was lost: each went on to email 2 and completed.
    for (const [id, n] of count) expect(n, id).toBe(1);
    const enrollments = await h.enrollments();
    expect(enrollments).toHaveLength(LEADS);
    expect(new Set(enrollments.map((e) => e.lead_id)).size).toBe(LEADS);
    const all = await h.attempts();
    expect(all).toHaveLength(2 * LEADS);
    for (const e of enrollments) {
      expect(e.status).toBe("completed");
      const second = all.find((a) => a.enrollment_id === e.id && a.step_id === "email-2");
      expect(second).toMatchObject({ status: "sent", message_id: `<${e.id}.email-2@qualify>` });
      expect(h.smtp.mails.filter((m) => m.parsed.messageId === second?.message_id)).toHaveLength(1);
    }
    // Email 1: sent, or unknown (the kill caught it mid-send, delivered or not): never both, never twice.
    for (const a of all.filter((x) => x.step_id === "email-1")) {
      expect(["sent", "unknown"]).toContain(a.status);
      if (a.status === "sent") expect(count.get(a.message_id)).toBe(1);
    }
    await second.stop();
  });

  it("kills at random moments of a run: at most one delivery per step, no enrollment lost", {
    timeout: 300_000,
  }, async () => {
    const h = await harness();
    const LEADS = 50;
    // Some SMTP latency, so that a kill finds exchanges in flight.
    h.smtp.onMessage = () => sleep(Math.floor(Math.random() * 100)).then(() => undefined);

    let p = await h.start();
    await h.configure(p);
    await h.ingestLeads(p, "rnd", LEADS);
    // A kill amid the first emails, then one amid the second ones: each once a random number of
    // messages has come since the (re)start, a random few milliseconds later.
    const kills: string[] = [];
    for (const round of [0, 1]) {
      const from = h.smtp.seen.length;
      const after = 1 + Math.floor(Math.random() * (LEADS - 10));
      const ms = Math.floor(Math.random() * 50);
      kills.push(`#${round + 1} after ${after} messages + ${ms} ms`);
      const until = Date.now() + 60_000;
      while (h.smtp.seen.length < from + after && Date.now() < until) await sleep(5);
      await sleep(ms);
      await p.kill9();
      p = await h.start();
    }
    const note = `kills: ${kills.join("; ")}`;
    await h.untilQuiet(LEADS, 150_000).catch((e: Error) => {
      throw new Error(`${e.message} (${note})`);
    });

    const enrollments = await h.enrollments();
    expect(enrollments, note).toHaveLength(LEADS);
    expect(new Set(enrollments.map((e) => e.lead_id)).size, note).toBe(LEADS);
    for (const e of enrollments) expect(e.status, note).toBe("completed");
    const all = await h.attempts();
    // One attempt per (enrollment, step), each with its own Message-ID, each sent or unknown.
    expect(all, note).toHaveLength(2 * LEADS);
    expect(new Set(all.map((a) => `${a.enrollment_id}/${a.step_id}`)).size, note).toBe(2 * LEADS);
    const count = h.deliveries();
    for (const a of all) {
      expect(a.message_id).toBe(`<${a.enrollment_id}.${a.step_id}@qualify>`);
      expect(["sent", "unknown"], note).toContain(a.status);
      if (a.status === "sent") expect(count.get(a.message_id), note).toBe(1);
    }
    // Every message the sink got belongs to an attempt, and none came twice.
    const ids = new Set(all.map((a) => a.message_id));
    for (const [id, n] of count) {
      expect(ids.has(id), id).toBe(true);
      expect(n, `${id} (${note})`).toBe(1);
    }
    const unknown = all.filter((a) => a.status === "unknown").length;
    const listed = (await h.call(p, "GET", "/api/email/attempts?status=unknown&limit=1000")).body.attempts;
    expect(listed, note).toHaveLength(unknown);
    console.info(`email crash: ${note}; ${all.length - unknown} sent, ${unknown} unknown`);
    await p.stop();
  });
});
