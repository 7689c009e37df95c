import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { type RunningService, startService } from "../../src/api/start-service.js";
import { loadConfig } from "../../src/config/load-config.js";
import { openPglite } from "../../src/db/open-pglite.js";
import { claimJobs } from "../../src/scheduler/claim-jobs.js";
import { createPostgresDatabase } from "../support/postgres-database.js";
import { recorder, schedule, storedJob, testClock } from "../support/scheduler-fixtures.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { TEST_ADMIN_TOKEN, TEST_WRITE_KEY } from "../support/test-service.js";

/**
 * The scheduler inside the real service: started with processing, stopped on close, and its jobs
 * kept across a restart of the service on the same database (a PGlite data directory, or one
 * PostgreSQL database). The polling loop runs here on a controlled clock; only the polls are real.
 */

const T = 1_700_000_000_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(
  what: string,
  probe: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** A database the service opens itself, by configuration, so that it can be opened again. */
async function persistentDatabase(
  kind: "pglite" | "postgres",
): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  if (kind === "postgres") {
    const pg = await createPostgresDatabase();
    return { env: { DATABASE_URL: pg.url }, drop: pg.drop };
  }
  // A data directory that starts as a copy of the migrated template (creating one costs seconds).
  const dir = mkdtempSync(join(tmpdir(), "qualify-scheduler-"));
  const db = await openPglite({
    dataDir: dir,
    loadDataDir: new Blob([readFileSync(inject("pgliteTemplate"))]),
  });
  await db.close();
  return { env: { QUALIFY_DATA_DIR: dir }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

describe.each(DATABASE_KINDS)("the scheduler in the service on %s", (kind) => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  const start = (env: Record<string, string>, clock: () => number, processing = true) =>
    startService(
      loadConfig({
        LOG_LEVEL: "silent",
        QUALIFY_WRITE_KEY: TEST_WRITE_KEY,
        QUALIFY_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
        QUALIFY_SCHEDULER_POLL_MS: "20",
        ...env,
      }),
      { listen: false, clock, processing },
    );

  it("keeps jobs across a restart, and runs them when the clock reaches them", async () => {
    const database = await persistentDatabase(kind);
    cleanup.push(database.drop);
    const clock = testClock(T);
    let running: RunningService | null = await start(database.env, clock.now);
    cleanup.push(async () => running?.close());
    const first = recorder();
    running.service.scheduler.register("sla", first.handler);
    const db1 = running.service.db;
    const due = await schedule(db1, { kind: "sla", key: "h1", runAt: T + 60_000, payload: { n: 1 } });
    const early = await schedule(db1, { kind: "sla", key: "h0", runAt: T });
    await until("the job due now", () => first.runs.length === 1);
    expect(first.runs[0]).toMatchObject({ id: early, now: T });
    // A job this process claimed and never finished, as if it had been killed mid-job.
    const abandoned = await schedule(db1, { kind: "sla", key: "h2", runAt: T + 1 });
    expect(await claimJobs(db1, { now: T + 1, kinds: ["sla"], limit: 10, leaseMs: 30_000 })).toHaveLength(1);
    await sleep(100);
    expect(first.runs).toHaveLength(1);
    await running.close();
    running = null;

    running = await start(database.env, clock.now);
    const second = recorder();
    running.service.scheduler.register("sla", second.handler);
    // The abandoned job comes back once its lease (30 s from its claim) is over.
    clock.set(T + 30_000);
    await sleep(100);
    expect(second.runs).toEqual([]);
    clock.set(T + 30_001);
    await until("the abandoned job", () => second.runs.length === 1);
    clock.set(T + 59_999);
    await sleep(100);
    expect(second.runs).toHaveLength(1);
    clock.set(T + 60_000);
    await until("the job due at T + 60 s", () => second.runs.length === 2);
    expect(second.runs.map((r) => [r.id, r.attempts, r.now])).toEqual([
      [abandoned, 2, T + 30_001],
      [due, 1, T + 60_000],
    ]);
    expect(second.runs[1]?.payload).toEqual({ n: 1 });
    // The handler has run; its transaction commits the job done.
    const db2 = running.service.db;
    await until("the job done", async () => (await storedJob(db2, due)).state === "done");
    await running.close();
    running = null;
  });

  it("runs no jobs in a process without processing, and stops running them on close", async () => {
    const database = await persistentDatabase(kind);
    cleanup.push(database.drop);
    const apiOnly = await start(database.env, () => T, false);
    const r = recorder();
    apiOnly.service.scheduler.register("sla", r.handler);
    const id = await schedule(apiOnly.service.db, { kind: "sla", runAt: T });
    await sleep(150);
    expect(r.runs).toEqual([]);
    await apiOnly.close();

    const processing = await start(database.env, () => T);
    processing.service.scheduler.register("sla", r.handler);
    await until("the job", () => r.runs.length === 1);
    await processing.close();
    expect(r.runs.map((x) => x.id)).toEqual([id]);
  });
});
