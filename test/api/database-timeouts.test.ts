import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callQualify } from "../support/ingest-http.js";
import { createPostgresDatabase } from "../support/postgres-database.js";
import { freePort, type QualifyProcess, spawnQualify, waitForHttp } from "../support/qualify-process.js";

/**
 * Slow statements and an exhausted pool, on a `qualify start` child process with a pool of two, a
 * 6 s statement timeout and a 1 s connect timeout (set through its environment): a table held
 * locked from outside makes requests answer 503 DATABASE_TIMEOUT naming the limit, never hang, and
 * once the lock is gone they succeed again.
 */

const WRITE_KEY = "wk_timeout_test_write_key_01";
const ADMIN_TOKEN = "qlf_timeout_test_admin_token_01";
const STATEMENT_MS = 6_000;
const CONNECT_MS = 1_000;
const STATEMENT_TIMEOUT = `the database did not answer within ${STATEMENT_MS} ms (QUALIFY_DB_STATEMENT_TIMEOUT_MS); retry shortly`;
const POOL_TIMEOUT = `no database connection became free within ${CONNECT_MS} ms (QUALIFY_DB_CONNECT_TIMEOUT_MS); all 2 (QUALIFY_DB_POOL_SIZE) are busy; retry shortly`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

describe.skipIf(!process.env.DATABASE_URL)("database timeouts on PostgreSQL", () => {
  let database: { url: string; drop(): Promise<void> } | undefined;
  let server: QualifyProcess | undefined;
  /** Holds a table locked; another connection watches, as activity is a snapshot per transaction. */
  let locker: pg.Client | undefined;
  let watcher: pg.Client | undefined;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    server = spawnQualify({
      DATABASE_URL: database.url,
      PORT: String(await freePort()),
      QUALIFY_WRITE_KEY: WRITE_KEY,
      QUALIFY_ADMIN_TOKEN: ADMIN_TOKEN,
      QUALIFY_DB_POOL_SIZE: "2",
      QUALIFY_DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_MS),
      QUALIFY_DB_CONNECT_TIMEOUT_MS: String(CONNECT_MS),
      LOG_LEVEL: "warn",
    });
    await waitForHttp(`${server.url}/readyz`, 120_000);
    locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
    watcher = new pg.Client({ connectionString: database.url });
    await watcher.connect();
  }, 180_000);

  afterAll(async () => {
    await locker?.end().catch(() => undefined);
    await watcher?.end().catch(() => undefined);
    await server?.stop(30_000).catch(() => undefined);
    await database?.drop();
  }, 120_000);

  /** A request and how long its answer took. */
  const call = (method: string, path: string, body?: unknown) =>
    callQualify(server?.url as string, { writeKey: WRITE_KEY, token: ADMIN_TOKEN }, method, path, body);

  const lock = async (table: string) => {
    await locker?.query("begin");
    await locker?.query(`lock table ${table} in access exclusive mode`);
  };
  const release = () => locker?.query("rollback");
  /** Backends of the test database waiting for a lock. */
  const waiting = async () =>
    (
      await (watcher as pg.Client).query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
      )
    ).rows[0]?.n ?? 0;
  const stored = async (messageId: string) =>
    (
      await (watcher as pg.Client).query<{ n: number }>(
        "select count(*)::int as n from events where message_id = $1",
        [messageId],
      )
    ).rows[0]?.n;

  it("a statement held up by a lock answers 503 DATABASE_TIMEOUT after the statement timeout", async () => {
    await lock("leads");
    try {
      const res = await call("GET", "/api/leads");
      expect(res).toMatchObject({
        status: 503,
        retryAfter: "5",
        body: {
          error: "DATABASE_TIMEOUT",
          message: STATEMENT_TIMEOUT,
          field: "QUALIFY_DB_STATEMENT_TIMEOUT_MS",
        },
      });
      // About the statement timeout: not before it, and far from hanging.
      expect(res.ms).toBeGreaterThanOrEqual(STATEMENT_MS - 100);
      expect(res.ms).toBeLessThan(STATEMENT_MS + 30_000);
    } finally {
      await release();
    }
    expect((await call("GET", "/api/leads")).status).toBe(200);
  });

  it("requests beyond an exhausted pool answer 503 DATABASE_TIMEOUT instead of waiting", async () => {
    await lock("leads");
    let holders: Promise<Awaited<ReturnType<typeof call>>[]> | undefined;
    try {
      // Two requests take both connections and wait on the lock…
      holders = Promise.all([call("GET", "/api/leads"), call("GET", "/api/leads?limit=1")]);
      await until("two requests blocked on the lock", async () => (await waiting()) >= 2, STATEMENT_MS / 2);
      // …so these find no free connection within the connect timeout.
      const messageId = `pool-${randomBytes(4).toString("hex")}`;
      const more = await Promise.all([
        call("GET", "/api/leads?limit=2"),
        call("GET", "/api/leads?limit=3"),
        call("POST", "/v1/track", { userId: "u-pool", messageId, event: "Form Submitted" }),
      ]);
      for (const res of more) {
        expect(res).toMatchObject({
          status: 503,
          retryAfter: "5",
          body: { error: "DATABASE_TIMEOUT", message: POOL_TIMEOUT, field: "QUALIFY_DB_CONNECT_TIMEOUT_MS" },
        });
        // Answered while the two holders still wait: they did not queue behind them.
        expect(res.ms).toBeLessThan(STATEMENT_MS);
      }
      for (const res of await holders)
        expect(res).toMatchObject({
          status: 503,
          body: { error: "DATABASE_TIMEOUT", message: STATEMENT_TIMEOUT },
        });
      await release();
      expect(await stored(messageId)).toBe(0);
    } finally {
      await release();
      await holders?.catch(() => undefined);
    }
    await until("leads listed again", async () => (await call("GET", "/api/leads")).status === 200, 30_000);
    expect((await call("GET", "/readyz")).status).toBe(200);
  });

  it("ingest held up by a lock answers 503, stores nothing, and stores the retry once", async () => {
    const messageId = `slow-${randomBytes(4).toString("hex")}`;
    const event = { userId: "u-slow", messageId, event: "Form Submitted" };
    await lock("events");
    try {
      const res = await call("POST", "/v1/track", event);
      // The statement times out, or the pipeline (also waiting on the lock) holds the other connection.
      expect(res).toMatchObject({ status: 503, retryAfter: "5", body: { error: "DATABASE_TIMEOUT" } });
      expect(res.ms).toBeLessThan(STATEMENT_MS + 30_000);
    } finally {
      await release();
    }
    expect(await stored(messageId)).toBe(0);
    await until(
      "ingest accepted again",
      async () => (await call("POST", "/v1/track", event)).status === 200,
      30_000,
    );
    expect(await stored(messageId)).toBe(1);
    expect(server?.stdout()).not.toContain("unhandled error");
  });
});
