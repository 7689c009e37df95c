import { afterAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.js";
import { openPostgres } from "../../src/db/open-postgres.js";
import { basicAuth, type Call, prng, storedModel } from "../support/live-checks.js";
import { checkLeads, workload } from "../support/live-workload.js";
import { createPostgresDatabase } from "../support/postgres-database.js";
import { freePort, type QualifyProcess, spawnQualify } from "../support/qualify-process.js";
import { TEST_ADMIN_TOKEN, TEST_WRITE_KEY } from "../support/test-service.js";

/**
 * Several real processes against one PostgreSQL: two `qualify start` (API and processing), one
 * `qualify start --no-processing` (API only) and two `qualify worker`. A random workload is sent to
 * the API processes, as a load balancer would; half-way a worker is killed with SIGKILL, later an
 * API process too (its requests go to the others, as a client retries). Afterwards every lead must
 * equal a recompute from its stored inputs, and its transitions the ingest-order replay.
 */

const WORKLOADS = Number(process.env.QUALIFY_TEST_WORKLOADS ?? 8);
const START_MS = 60_000;
/** A dead process's partitions must be taken over within this long. */
const TAKEOVER_MS = 5_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Who holds the event partitions now: partitions per holding connection. */
async function partitionHolders(db: Database): Promise<number[]> {
  const rows = await db.query<{ n: number }>(
    `select count(*)::int as n from pg_locks where locktype = 'advisory' and classid = 81002 and objsubid = 2
       and granted and database = (select oid from pg_database where datname = current_database())
     group by pid order by n desc`,
  );
  return rows.map((r) => r.n);
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** POSTs a batch; true when it was acknowledged (stored, or already stored). */
async function post(url: string, calls: readonly Call[]): Promise<boolean> {
  try {
    const res = await fetch(`${url}/v1/batch`, {
      method: "POST",
      headers: { authorization: basicAuth(TEST_WRITE_KEY), "content-type": "application/json" },
      body: JSON.stringify({ batch: calls }),
    });
    const text = await res.text();
    if (res.status !== 200) return false;
    const answer = JSON.parse(text) as { rejected: unknown[] };
    if (answer.rejected.length > 0) throw new Error(`rejected: ${text}`);
    return true;
  } catch (e) {
    if ((e as Error).message.startsWith("rejected")) throw e;
    return false; // the process died under the request: another one gets it
  }
}

describe.skipIf(!process.env.DATABASE_URL)("several processes on one PostgreSQL", () => {
  const processes: QualifyProcess[] = [];
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill9()));
    for (const c of cleanup.reverse()) await c();
  });

  it("shares the leads out, takes over from a killed process, and keeps every lead equal to the engine", {
    timeout: 300_000,
  }, async () => {
    const database = await createPostgresDatabase();
    cleanup.push(database.drop);
    const db = openPostgres(database.url, 2);
    cleanup.push(() => db.close());
    const env = {
      DATABASE_URL: database.url,
      QUALIFY_WRITE_KEY: TEST_WRITE_KEY,
      QUALIFY_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      LOG_LEVEL: "warn",
      QUALIFY_PIPELINE_BATCH: "50",
    };
    const spawn = (args: string[], command: "start" | "worker", port?: number) => {
      const p = spawnQualify({ ...env, ...(port ? { PORT: String(port) } : {}) }, args, command);
      processes.push(p);
      return p;
    };
    // The first start bootstraps the workspace; the others join it.
    const first = spawn([], "start", await freePort());
    await first.waitForOutput(/listening/, START_MS);
    const second = spawn([], "start", await freePort());
    const apiOnly = spawn(["--no-processing"], "start", await freePort());
    const workers = [spawn([], "worker"), spawn([], "worker")];
    await Promise.all([
      second.waitForOutput(/listening/, START_MS),
      apiOnly.waitForOutput(/listening/, START_MS),
      ...workers.map((w) => w.waitForOutput(/processing/, START_MS)),
    ]);

    // Four processing processes share the 64 partitions evenly; the API-only one holds none.
    expect(
      await until("an even share", 15_000, async () => {
        const held = await partitionHolders(db);
        return held.length === 4 && held.every((n) => n === 16) ? held : undefined;
      }),
    ).toEqual([16, 16, 16, 16]);

    // Routing: three reps in one round-robin team, so that every MQL becomes a handoff.
    const admin = (path: string, body: unknown) =>
      fetch(`${first.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    for (const email of ["r1@corp.example", "r2@corp.example", "r3@corp.example"])
      expect((await admin("/api/users", { email, role: "sales", teams: ["all"] })).status).toBe(201);
    const week = '["00:00-24:00"]';
    const routing = `teams:\n  all:\n    timeZone: UTC\n    hours: { mon: ${week}, tue: ${week}, wed: ${week}, thu: ${week}, fri: ${week}, sat: ${week}, sun: ${week} }\n    sla: { businessHours: 8 }\nfallback: { team: all }\n`;
    expect((await admin("/api/routing", { source: routing })).status).toBe(201);

    const seed = Number(process.env.QUALIFY_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const planned = Array.from({ length: WORKLOADS }, (_, i) => workload(seed + i).planned).flat();
    planned.sort((a, b) => a.sendAt - b.sendAt);
    const r = prng(seed);
    const chunks: Call[][] = [];
    for (let i = 0; i < planned.length; ) {
      const size = r.int(1, 20);
      chunks.push(planned.slice(i, i + size).map((p) => p.call));
      i += size;
    }

    const acknowledged = new Set<string>();
    let apis = [first, second, apiOnly];
    let sent = 0;
    let takeoverMs = -1;
    const killWorker = async () => {
      const killedAt = Date.now();
      await workers[0]?.kill9();
      await until("the partitions taken over", TAKEOVER_MS * 4, async () => {
        const held = await partitionHolders(db);
        return held.length < 4 && held.reduce((a, b) => a + b, 0) === 64 ? held : undefined;
      });
      takeoverMs = Date.now() - killedAt;
    };
    let takeover: Promise<void> | null = null;
    const sender = async () => {
      for (;;) {
        const chunk = chunks[sent++];
        if (!chunk) return;
        if (sent === Math.floor(chunks.length / 3)) takeover = killWorker();
        if (sent === Math.floor((chunks.length * 2) / 3)) {
          apis = [first, apiOnly];
          void second.kill9();
        }
        // Round robin over the live API processes; a request that fails goes to the next one.
        for (let attempt = 0; ; attempt++) {
          const api = apis[(sent + attempt) % apis.length] as QualifyProcess;
          if (await post(api.url, chunk)) break;
          if (attempt > 50) throw new Error("no API process acknowledged a batch");
          await sleep(20);
        }
        for (const c of chunk) acknowledged.add(c.messageId);
      }
    };
    await Promise.all(Array.from({ length: 8 }, sender));
    await takeover;
    expect(takeoverMs, "a killed worker's partitions are taken over").toBeGreaterThanOrEqual(0);
    expect(takeoverMs).toBeLessThan(TAKEOVER_MS);

    await until("every event processed", 120_000, async () => {
      const rows = await db.query<{ n: number }>("select count(*)::int as n from events where not processed");
      return rows[0]?.n === 0 ? true : undefined;
    });
    const m = await storedModel(db);
    const label = `seed ${seed}, ${planned.length} calls`;
    const stats = await checkLeads(db, m, acknowledged, label);
    expect(stats.leads).toBeGreaterThan(100);
    expect(stats.merged).toBeGreaterThan(0);
    // No transition was stored (or notified) twice by two processes.
    const twice = await db.query(
      `select lead_id, input_id, to_stage, at, count(*)::int as n from transitions
         group by lead_id, input_id, to_stage, at having count(*) > 1`,
    );
    expect(twice, `${label}: transitions stored twice`).toEqual([]);

    // Every MQL was routed once, by whichever process ran its job: each lead at MQL has one open
    // handoff, no job failed, and round robin (serialized across processes) kept the reps level
    // (leads of an account that has an owner go to that owner, outside the rotation).
    await until("every routing job run", 60_000, async () => {
      const rows = await db.query<{ n: number }>(
        "select count(*)::int as n from jobs where kind = 'handoff.route' and state in ('scheduled', 'running')",
      );
      return rows[0]?.n === 0 ? true : undefined;
    });
    expect(await db.query("select kind, last_error from jobs where state = 'failed'"), label).toEqual([]);
    const unrouted = await db.query(
      `select l.id, (select count(*)::int from handoffs h where h.lead_id = l.id and h.status = 'pending') as open
       from leads l where l.stage = 'mql' and l.merged_into is null`,
    );
    expect(
      unrouted.filter((l) => (l as { open: number }).open !== 1),
      label,
    ).toEqual([]);
    const perRep = await db.query<{ n: number }>(
      "select count(*)::int as n from handoffs where rule = 'fallback' group by owner_id order by n",
    );
    expect(perRep.length, label).toBe(3);
    expect(
      (perRep[2]?.n ?? 0) - (perRep[0]?.n ?? 0),
      `${label}: round robin across processes`,
    ).toBeLessThanOrEqual(1);

    // A stage fact sent to the API-only process is processed elsewhere, and answered all the same.
    const mql = await db.query<{ id: string }>(
      "select id from leads where stage = 'mql' and merged_into is null limit 1",
    );
    const leadId = mql[0]?.id;
    expect(leadId, `${label}: an MQL`).toBeDefined();
    const res = await fetch(`${apiOnly.url}/api/leads/${leadId}/stage`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ fact: "accepted", reason: "called back" }),
    });
    const body = (await res.json()) as { lead: { stage: string }; transitions: { to: string }[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.transitions.map((t) => t.to)).toEqual(["sal"]);
    expect(body.lead.stage).toBe("sal");
  });
});
