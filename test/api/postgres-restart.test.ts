import { randomBytes } from "node:crypto";
import { Analytics } from "@segment/analytics-node";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callQualify } from "../support/ingest-http.js";
import { type PrivatePostgres, startPrivatePostgres } from "../support/private-postgres.js";
import { freePort, type QualifyProcess, spawnQualify, waitForHttp } from "../support/qualify-process.js";

/**
 * A real PostgreSQL stopped and started again under ingest: a private instance (never the shared
 * one), a `qualify start` child process on it, and the Segment SDK sending all along. While the
 * database is down every answer is 503 with Retry-After (never 500) and /readyz fails; once it is
 * back the service recovers by itself, and the SDK's retries deliver every call exactly once.
 */

const WRITE_KEY = "wk_restart_test_write_key_01";
const ADMIN_TOKEN = "qlf_restart_test_admin_token_01";
const USERS = 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

describe.skipIf(!process.env.DATABASE_URL)("PostgreSQL stopped and restarted under ingest", () => {
  let db: PrivatePostgres | undefined;
  let server: QualifyProcess | undefined;
  const run = randomBytes(4).toString("hex");

  beforeAll(async () => {
    db = await startPrivatePostgres();
    server = spawnQualify({
      DATABASE_URL: db.url,
      PORT: String(await freePort()),
      QUALIFY_WRITE_KEY: WRITE_KEY,
      QUALIFY_ADMIN_TOKEN: ADMIN_TOKEN,
      LOG_LEVEL: "warn",
    });
    await waitForHttp(`${server.url}/readyz`, 120_000);
  }, 180_000);

  afterAll(async () => {
    await server?.stop(30_000).catch(() => undefined);
    await db?.dispose();
  }, 120_000);

  const call = (method: string, path: string, body?: unknown) =>
    callQualify(server?.url as string, { writeKey: WRITE_KEY, token: ADMIN_TOKEN }, method, path, body);

  it("answers 503 with Retry-After while it is down, loses nothing, and recovers by itself", async () => {
    const pgServer = db as PrivatePostgres;
    const qualify = server as QualifyProcess;
    // Retries with backoff (1-2 s, 2-4 s, 4-8 s…) that outlast each outage by far.
    const analytics = new Analytics({
      writeKey: WRITE_KEY,
      host: qualify.url,
      flushAt: 20,
      flushInterval: 50,
      maxRetries: 30,
      httpRequestTimeout: 30_000,
    });
    const answers: { status: number; retryAfter: string | undefined; ids: string[] }[] = [];
    const failures: unknown[] = [];
    analytics.on("http_response", (r) =>
      answers.push({
        status: r.status,
        retryAfter: r.headers["retry-after"],
        ids: (JSON.parse(String(r.body)) as { batch: { messageId: string }[] }).batch.map((e) => e.messageId),
      }),
    );
    analytics.on("error", (e) => failures.push(e));

    const sent: string[] = [];
    const send = () => {
      const n = sent.length;
      const userId = `restart-${run}-user-${n % USERS}`;
      const messageId = `restart-${run}-${n}`;
      if (n < USERS) analytics.identify({ userId, messageId, traits: { email: `u${n}@northwind.example` } });
      else analytics.track({ userId, messageId, event: "Asset Downloaded", properties: { type: "ebook" } });
      sent.push(messageId);
    };
    const producer = setInterval(send, 20);
    const direct: string[] = [];

    try {
      await until("a first 200", () => answers.some((a) => a.status === 200), 30_000);
      for (const mode of ["fast", "immediate"] as const) {
        await pgServer.stop(mode);
        // Direct calls while it is down: 503 with Retry-After (sent again below, then stored once).
        const t = `direct-${run}-${mode}-track`;
        const [b1, b2] = [`direct-${run}-${mode}-batch-1`, `direct-${run}-${mode}-batch-2`];
        direct.push(t, b1, b2);
        const downAnswers = [
          await call("POST", "/v1/track", { userId: "direct-user", messageId: t, event: "Form Submitted" }),
          await call("POST", "/v1/batch", {
            batch: [b1, b2].map((messageId) => ({
              type: "track",
              userId: "direct-user",
              messageId,
              event: "X",
            })),
          }),
          await call("GET", "/api/leads?limit=5"),
        ];
        for (const a of downAnswers) {
          expect(a).toMatchObject({ status: 503, retryAfter: "5", body: { error: "NOT_READY" } });
        }
        const ready = await call("GET", "/readyz");
        expect(ready).toMatchObject({ status: 503, body: { ready: false } });
        // Let the SDK run into the outage (and back off) before the database returns.
        const before = answers.length;
        await until(
          "the SDK sees the outage",
          () => answers.slice(before).some((a) => a.status === 503),
          30_000,
        );
        await sleep(2_000);
        expect(qualify.exit()).toBeNull();
        await pgServer.start();
        await waitForHttp(`${qualify.url}/readyz`, 60_000);
        await sleep(1_000);
      }
    } finally {
      clearInterval(producer);
    }

    // The direct calls, retried as an SDK would, until they are stored.
    const retry = async (path: string, body: unknown) =>
      until(`${path} accepted again`, async () => (await call("POST", path, body)).status === 200, 60_000);
    for (const mode of ["fast", "immediate"]) {
      await retry("/v1/track", {
        userId: "direct-user",
        messageId: `direct-${run}-${mode}-track`,
        event: "Form Submitted",
      });
      await retry("/v1/batch", {
        batch: [1, 2].map((i) => ({
          type: "track",
          userId: "direct-user",
          messageId: `direct-${run}-${mode}-batch-${i}`,
          event: "X",
        })),
      });
    }
    await analytics.closeAndFlush({ timeout: 180_000 });

    expect(failures).toEqual([]);
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([200, 503]));
    expect(answers.filter((a) => a.status === 503).every((a) => a.retryAfter === "5")).toBe(true);
    expect(qualify.stdout()).not.toContain("unhandled error");

    const check = new pg.Client({ connectionString: pgServer.url });
    await check.connect();
    try {
      const all = [...sent, ...direct];
      const stored = await check.query<{ message_id: string; n: number }>(
        "select message_id, count(*)::int as n from events where message_id = any($1) group by message_id",
        [all],
      );
      // Every call stored, each exactly once, and in particular everything acknowledged.
      expect(stored.rows.filter((r) => r.n !== 1)).toEqual([]);
      const storedIds = new Set(stored.rows.map((r) => r.message_id));
      expect(all.filter((id) => !storedIds.has(id))).toEqual([]);
      const acked = answers.filter((a) => a.status === 200).flatMap((a) => a.ids);
      expect(acked.filter((id) => !storedIds.has(id))).toEqual([]);
      expect(storedIds.size).toBe(all.length);

      // The pipeline recovered too: everything processed, nothing set aside, a lead per user.
      const count = async (sql: string) => (await check.query<{ n: number }>(sql)).rows[0]?.n;
      await until(
        "all events processed",
        async () => (await count("select count(*)::int as n from events where not processed")) === 0,
        120_000,
      );
      expect(await count("select count(*)::int as n from events where error is not null")).toBe(0);
    } finally {
      await check.end();
    }
    for (let u = 0; u < USERS; u++) {
      const res = await call("GET", `/api/leads?userId=restart-${run}-user-${u}`);
      expect(res.status).toBe(200);
      expect(res.body.items).toHaveLength(1);
    }
  }, 600_000);
});
