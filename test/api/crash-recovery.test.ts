import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { LOCK_FILE } from "../../src/db/data-dir-lock.js";
import type { Queryable } from "../../src/db/database.js";
import { withDatabase } from "../../src/db/database-url.js";
import { openPglite } from "../../src/db/open-pglite.js";
import { openPostgres } from "../../src/db/open-postgres.js";
import { evaluate, type Input } from "../../src/engine/index.js";
import { compileStored } from "../../src/pipeline/model-store.js";
import { freePort, type QualifyProcess, spawnQualify, waitForHttp } from "../support/qualify-process.js";
import { DATABASE_KINDS } from "../support/test-database.js";

/**
 * Crash recovery of the real CLI server (`qualify start` in a child process): sustained ingest from
 * concurrent senders, `kill -9` mid-stream, a restart on the same data (the stale lock taken over),
 * retries of acknowledged calls. Every acknowledged call is then stored exactly once, everything is
 * processed, and each lead's stored scores are what the engine computes from its stored inputs.
 */

const WRITE_KEY = "wk_crash_test_write_key_01";
const ADMIN_TOKEN = "qlf_crash_test_admin_token_01";
const MODEL_FILE = "models/default.yaml";
const DAY = 86_400_000;
const SENDERS = 6;
const INGEST_MS = 4_000;
/** A fresh PGlite data directory takes several seconds to create. */
const START_MS = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- the data a server runs on --------------------------------------------------------------------

interface Store {
  env: Record<string, string>;
  dataDir: string;
  /** Opens the stored data directly; only once no server runs (PGlite) . */
  open(): Promise<Queryable & { close(): Promise<void> }>;
  dispose(): Promise<void>;
}

async function makeStore(kind: "pglite" | "postgres"): Promise<Store> {
  const dataDir = mkdtempSync(join(tmpdir(), "qualify-crash-"));
  if (kind === "pglite")
    return {
      dataDir,
      env: { QUALIFY_DATA_DIR: dataDir },
      open: () => openPglite({ dataDir }),
      async dispose() {
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  const url = process.env.DATABASE_URL as string;
  const name = `qualify_crash_${randomBytes(6).toString("hex")}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`create database ${name}`);
  return {
    dataDir,
    env: { QUALIFY_DATA_DIR: dataDir, DATABASE_URL: withDatabase(url, name) },
    open: async () => openPostgres(withDatabase(url, name), 2),
    async dispose() {
      await admin(`drop database if exists ${name} with (force)`);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function serverEnv(store: Store, port: number): Record<string, string> {
  return {
    ...store.env,
    PORT: String(port),
    QUALIFY_WRITE_KEY: WRITE_KEY,
    QUALIFY_ADMIN_TOKEN: ADMIN_TOKEN,
    LOG_LEVEL: "warn",
    QUALIFY_MODEL: MODEL_FILE,
  };
}

// --- traffic --------------------------------------------------------------------------------------

interface Call {
  path: string;
  body: Record<string, unknown>;
  ids: string[];
}

const USERS = 40;
const DOMAINS = ["acme.com", "globex.io", "initech.com", "gmail.com", "hooli.xyz"];
const TITLES = ["VP Marketing", "Marketing Manager", "Engineer", "Head of Growth", "Student"];
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;

/** One Segment call of a small population, some anonymous, some late, with identities that merge. */
function segmentCall(messageId: string): Record<string, unknown> {
  const u = Math.floor(Math.random() * USERS);
  const userId = `user-${u}`;
  const anonymousId = `anon-${u}-${Math.floor(Math.random() * 3)}`;
  const who = Math.random() < 0.3 ? { anonymousId } : { userId, anonymousId };
  const when =
    Math.random() < 0.2 ? { timestamp: new Date(Date.now() - Math.random() * 5 * DAY).toISOString() } : {};
  const r = Math.random();
  if (r < 0.15)
    return {
      type: "identify",
      messageId,
      userId,
      anonymousId,
      traits: { email: `${userId}@${DOMAINS[u % DOMAINS.length]}`, title: pick(TITLES), name: `User ${u}` },
      ...when,
    };
  if (r < 0.2)
    return {
      type: "group",
      messageId,
      userId,
      groupId: `acct-${u % 6}`,
      traits: { employees: pick([20, 300, 5000]), industry: pick(["software", "retail"]) },
      ...when,
    };
  if (r < 0.205) return { type: "alias", messageId, userId, previousId: `user-${(u + 1) % USERS}` };
  if (r < 0.45)
    return {
      type: "page",
      messageId,
      ...who,
      name: "Pricing",
      properties: { path: pick(["/pricing", "/blog", "/careers"]) },
      ...when,
    };
  return {
    type: "track",
    messageId,
    ...who,
    event: pick([
      "Webinar Attended",
      "Asset Downloaded",
      "Email Opened",
      "Email Clicked",
      "Form Submitted",
      "Webinar Registered",
    ]),
    properties: { type: pick(["ebook", "case-study", "video"]) },
    ...when,
  };
}

function makeCall(tag: string): Call {
  if (Math.random() < 0.3) {
    const ids = Array.from({ length: 2 + Math.floor(Math.random() * 24) }, (_, i) => `${tag}-${i}`);
    return { path: "/v1/batch", body: { batch: ids.map(segmentCall) }, ids };
  }
  const { type, ...body } = segmentCall(tag);
  return { path: `/v1/${type}`, body, ids: [tag] };
}

const basic = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString("base64")}`;

async function send(url: string, call: Call) {
  const res = await fetch(`${url}${call.path}`, {
    method: "POST",
    headers: { authorization: basic, "content-type": "application/json" },
    body: JSON.stringify(call.body),
    signal: AbortSignal.timeout(30_000),
  });
  // biome-ignore lint/suspicious/noExplicitAny: the answer is checked loosely
  return { status: res.status, body: (await res.json()) as any };
}

class Traffic {
  /** Calls answered 200, in order. */
  readonly acked: Call[] = [];
  readonly ackedIds = new Set<string>();
  /** Calls in flight when the server died: not acknowledged, so maybe stored, maybe not. */
  readonly unanswered: Call[] = [];
  /** Answers other than 200 while the server was up. */
  readonly unexpected: string[] = [];
  private stopped = false;
  private readonly senders: Promise<void>[] = [];

  constructor(
    private readonly url: string,
    private readonly tag: string,
  ) {}

  start(n: number): void {
    for (let s = 0; s < n; s++) this.senders.push(this.sender(s));
  }

  private async sender(s: number): Promise<void> {
    for (let n = 0; !this.stopped; n++) {
      const call = makeCall(`${this.tag}-s${s}-n${n}`);
      try {
        const res = await send(this.url, call);
        if (res.status === 200) {
          this.acked.push(call);
          for (const id of call.ids) this.ackedIds.add(id);
        } else this.unexpected.push(`${call.path} ${res.status} ${JSON.stringify(res.body)}`);
      } catch {
        // The server is gone: this call was not acknowledged. The sender stops.
        this.unanswered.push(call);
        return;
      }
    }
  }

  /** Stops the senders (they also stop by themselves once the server is gone). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.senders);
  }
}

/** Sends calls, `concurrency` at a time; returns the answers in order. */
async function sendAll(url: string, calls: Call[], concurrency = SENDERS) {
  const out: { call: Call; status: number; body: { accepted?: number; duplicates?: number } }[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < calls.length) {
        const call = calls[next++] as Call;
        out.push({ call, ...(await send(url, call)) });
      }
    }),
  );
  return out;
}

async function api(url: string, path: string) {
  const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  // biome-ignore lint/suspicious/noExplicitAny: the answer is checked loosely
  return { status: res.status, body: (await res.json()) as any };
}

/** Polls GET /api/pipeline until nothing is pending; returns the last answer. */
async function waitProcessed(url: string, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const p = await api(url, "/api/pipeline");
    expect(p.status).toBe(200);
    if (p.body.pending === 0) return p.body;
    if (Date.now() > until) throw new Error(`still ${p.body.pending} events pending after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Servers started and stores made by a test, killed and disposed of after it. */
function cleanedUpAfterEach() {
  const running: QualifyProcess[] = [];
  const stores: Store[] = [];
  afterEach(async () => {
    for (const p of running.splice(0)) await p.kill9();
    for (const s of stores.splice(0)) await s.dispose();
  });
  const start = (env: Record<string, string>) => {
    const p = spawnQualify(env);
    running.push(p);
    return p;
  };
  return { start, stores };
}

// --- the tests ------------------------------------------------------------------------------------

describe.each(DATABASE_KINDS)("crash recovery of `qualify start` on %s", (kind) => {
  const { start, stores } = cleanedUpAfterEach();

  it("keeps every acknowledged event exactly once through kill -9, restart and retries", async () => {
    const store = await makeStore(kind);
    stores.push(store);
    const port = await freePort();
    const env = serverEnv(store, port);

    // First start: a fresh data directory (or database), migrated and bootstrapped.
    const first = start(env);
    const t0 = Date.now();
    await first.waitForOutput(/listening/, START_MS);
    const firstStartMs = Date.now() - t0;
    await waitForHttp(`${first.url}/healthz`, 10_000);

    // Sustained ingest from concurrent senders, then SIGKILL mid-stream.
    const traffic = new Traffic(first.url, `m${randomBytes(3).toString("hex")}`);
    traffic.start(SENDERS);
    await sleep(INGEST_MS);
    for (let waited = 0; traffic.ackedIds.size < 200 && waited < 10_000; waited += 100) await sleep(100);
    const killedAt = Date.now();
    const exit = await first.kill9();
    await traffic.stop();
    expect(exit.signal).toBe("SIGKILL");
    expect(traffic.unexpected).toEqual([]);
    const ackedBeforeKill = traffic.ackedIds.size;
    expect(ackedBeforeKill).toBeGreaterThan(100);
    if (kind === "pglite") {
      // The dead process's lock is left behind, naming it.
      expect(JSON.parse(readFileSync(join(store.dataDir, LOCK_FILE), "utf8")).pid).toBe(first.pid);
    }

    // Restart on the same data: the stale lock is taken over, recovery runs.
    const restartAt = Date.now();
    const second = start(env);
    await second.waitForOutput(/listening/, START_MS);
    await waitForHttp(`${second.url}/healthz`, 10_000);
    const recoverMs = Date.now() - restartAt;
    if (kind === "pglite")
      expect(JSON.parse(readFileSync(join(store.dataDir, LOCK_FILE), "utf8")).pid).toBe(second.pid);

    // Retries: a sample of the acknowledged calls, and every call the crash left unanswered.
    const sample = traffic.acked.filter((_, i) => i % 4 === 0);
    const retries = await sendAll(second.url, [...sample, ...traffic.unanswered]);
    for (const r of retries) expect(r.status, `${r.call.path} ${JSON.stringify(r.body)}`).toBe(200);
    for (const r of retries.filter((x) => x.call.path === "/v1/batch" && sample.includes(x.call))) {
      // An acknowledged batch was stored whole: its retry is all duplicates.
      expect(r.body).toMatchObject({ accepted: 0, duplicates: r.call.ids.length });
    }
    const acked = new Set([...traffic.ackedIds, ...traffic.unanswered.flatMap((c) => c.ids)]);

    // Processing catches up.
    const pipeline = await waitProcessed(second.url, 90_000);
    const drainedMs = Date.now() - restartAt;
    expect(pipeline.errors).toBe(0);
    expect(pipeline.quarantined ?? 0).toBe(0);

    console.log(
      `[crash-recovery ${kind}] first start ${firstStartMs} ms; ${ackedBeforeKill} events acknowledged in ` +
        `${traffic.acked.length} calls before kill -9 (${killedAt - t0 - firstStartMs} ms of ingest), ` +
        `${traffic.unanswered.length} calls unanswered; restart to healthy ${recoverMs} ms, ` +
        `to all processed ${drainedMs} ms; ${retries.length} calls retried`,
    );

    // A graceful stop: exit code 0, the lock released.
    const stopped = await second.stop();
    expect(stopped, second.stderr()).toEqual({ code: 0, signal: null });
    if (kind === "pglite") expect(existsSync(join(store.dataDir, LOCK_FILE))).toBe(false);

    // What is stored: every acknowledged event once, nothing else, all processed.
    const db = await store.open();
    try {
      const events = await db.query<{ message_id: string; n: number; unprocessed: number }>(
        `select message_id, count(*)::int as n, count(*) filter (where not processed)::int as unprocessed
           from events where workspace_id = 'default' and kind = 'event' group by message_id`,
      );
      const stored = new Map(events.map((e) => [e.message_id, e]));
      expect(
        [...acked].filter((id) => !stored.has(id)),
        "acknowledged but not stored",
      ).toEqual([]);
      expect(
        events.filter((e) => e.n !== 1),
        "stored more than once",
      ).toEqual([]);
      expect(
        events.filter((e) => !acked.has(e.message_id)).map((e) => e.message_id),
        "stored but never sent",
      ).toEqual([]);
      expect(await db.query("select count(*)::int as n from events where not processed")).toEqual([{ n: 0 }]);

      // The model is the file, stored as version 1.
      const source = readFileSync(MODEL_FILE, "utf8");
      const model = compileStored(source, 1);
      expect(model.key).toBe("default-b2b@v1");
      expect(await db.query("select version, key, source from models where active")).toEqual([
        { version: 1, key: model.key, source },
      ]);

      // Each lead's stored scores are the engine's, over its stored inputs, as of its scores_as_of.
      const leads = await db.query<{
        id: string;
        scores: Record<string, number>;
        grade: string | null;
        stage: string;
        scores_as_of: number;
        model_version: number;
        event_count: number;
        state: { model: string } | null;
      }>(
        `select id, scores, grade, stage, scores_as_of, model_version, event_count, state
           from leads where workspace_id = 'default' and merged_into is null order by id`,
      );
      // alias calls merge users, so fewer leads than users remain.
      expect(leads.length).toBeGreaterThan(5);
      const [merged] = await db.query<{ n: number }>(
        "select count(*)::int as n from leads where merged_into is not null",
      );
      console.log(
        `[crash-recovery ${kind}] ${leads.length} leads checked against the engine, ${merged?.n} merged away`,
      );
      const wrong: unknown[] = [];
      for (const lead of leads) {
        const inputs = (
          await db.query<{ input: Input }>(
            "select input from events where workspace_id = 'default' and lead_id = $1 and processed order by processed_order",
            [lead.id],
          )
        ).map((r) => r.input);
        const e = evaluate(model, inputs, lead.scores_as_of);
        const got = {
          scores: lead.scores,
          grade: lead.grade,
          model: lead.state?.model,
          version: lead.model_version,
        };
        const want = { scores: e.scores, grade: e.grade, model: model.key, version: 1 };
        // event_count counts the lead's Segment calls, not the account changes and facts it learned.
        const calls = inputs.filter((i) => i.kind === "event").length;
        if (!isDeepStrictEqual(got, want) || lead.event_count !== calls)
          wrong.push({ lead: lead.id, got, want, eventCount: lead.event_count, calls });
      }
      expect(wrong, `${wrong.length} of ${leads.length} leads`).toEqual([]);
    } finally {
      await db.close();
    }
  }, 180_000);
});

describe("the data directory lock of `qualify start`", () => {
  const { start, stores } = cleanedUpAfterEach();

  it("refuses a second `qualify start` on a data directory in use, naming the first one's PID", async () => {
    const store = await makeStore("pglite");
    stores.push(store);
    const first = start(serverEnv(store, await freePort()));
    await first.waitForOutput(/listening/, START_MS);

    const second = start(serverEnv(store, await freePort()));
    const exit = await Promise.race([
      second.exited,
      sleep(30_000).then(() => {
        throw new Error(`the second start is still running:\n${second.stdout()}\n${second.stderr()}`);
      }),
    ]);
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(second.stderr()).toContain(`is in use by process ${first.pid}`);
    expect(second.stdout()).not.toMatch(/listening/);

    // The first is unharmed and still holds its lock.
    await waitForHttp(`${first.url}/healthz`, 5_000);
    expect(JSON.parse(readFileSync(join(store.dataDir, LOCK_FILE), "utf8")).pid).toBe(first.pid);
    expect(await first.stop()).toEqual({ code: 0, signal: null });
  }, 120_000);
});
