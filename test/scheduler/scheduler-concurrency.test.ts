import { spawn } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.js";
import { openPostgres } from "../../src/db/open-postgres.js";
import type { Scheduler } from "../../src/scheduler/run-scheduler.js";
import { prng } from "../support/live-checks.js";
import { createPostgresDatabase } from "../support/postgres-database.js";
import { schedule, storedJob, testClock, testScheduler } from "../support/scheduler-fixtures.js";

/**
 * Several runners on one PostgreSQL, each with a pool of its own (as separate processes have):
 * no job ever runs twice at once, and each runs exactly once, even with leases far shorter than
 * the handlers; and a process killed with SIGKILL mid-job has its job run by another once its
 * lease is over, not before.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Interval {
  job: number;
  runner: string;
  start: number;
  end: number;
}

describe.skipIf(!process.env.DATABASE_URL)("scheduler runners sharing one PostgreSQL", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  /** `n` pools on one fresh database (with a table for the handlers' effects), and its URL. */
  async function databases(n: number): Promise<{ url: string; dbs: Database[] }> {
    const database = await createPostgresDatabase();
    cleanup.push(database.drop);
    const dbs = Array.from({ length: n }, () => openPostgres(database.url, 4));
    cleanup.push(async () => {
      for (const db of dbs) await db.close();
    });
    await dbs[0]?.exec("create table job_effects (job_id bigint not null, note text not null)");
    return { url: database.url, dbs };
  }

  /** A handler that takes a little while, writes its effect, and records when it ran. */
  function slowHandler(runner: string, intervals: Interval[], random: () => number, maxMs: number) {
    return async (tx: { query: Database["query"] }, job: { id: number }) => {
      const start = performance.now();
      await sleep(Math.floor(random() * maxMs));
      await tx.query("insert into job_effects (job_id, note) values ($1, $2)", [job.id, runner]);
      intervals.push({ job: job.id, runner, start, end: performance.now() });
    };
  }

  /** Each job ran once: one handler run (so none overlap), one committed effect, state done. */
  async function expectEachRanOnce(db: Database, ids: number[], intervals: Interval[]) {
    const runs = new Map<number, Interval[]>();
    for (const i of intervals) runs.set(i.job, [...(runs.get(i.job) ?? []), i]);
    for (const [job, list] of runs) {
      const sorted = list.sort((a, b) => a.start - b.start);
      for (let k = 1; k < sorted.length; k++)
        expect((sorted[k] as Interval).start, `job ${job} ran twice at once`).toBeGreaterThanOrEqual(
          (sorted[k - 1] as Interval).end,
        );
    }
    expect([...runs.keys()].sort((a, b) => a - b)).toEqual(ids);
    expect([...runs.values()].every((l) => l.length === 1)).toBe(true);
    const effects = await db.query<{ job_id: number; n: number }>(
      "select job_id, count(*)::int as n from job_effects group by job_id order by job_id",
    );
    expect(effects).toEqual(ids.map((id) => ({ job_id: id, n: 1 })));
    expect(await db.query("select state, count(*)::int as n from jobs group by state")).toEqual([
      { state: "done", n: ids.length },
    ]);
  }

  it("two runners stepping one controlled clock run each of many jobs exactly once", async () => {
    const [a, b] = (await databases(2)).dbs as [Database, Database];
    const random = prng(7);
    const clock = testClock();
    const intervals: Interval[] = [];
    const runners = [a, b].map((db, i) => {
      const s = testScheduler(db, clock.now, { batchSize: 5 });
      s.register("job", slowHandler(`r${i}`, intervals, random.next, 3));
      return s;
    });
    const ids: number[] = [];
    for (let i = 0; i < 300; i++)
      ids.push(await schedule(a, { kind: "job", runAt: clock.now() + random.int(0, 2_000) }));
    for (let t = 0; t <= 2_000; t += 100) {
      clock.set(clock.now() + (t === 0 ? 0 : 100));
      await Promise.all(runners.map((s) => s.runDue()));
    }
    await expectEachRanOnce(a, ids, intervals);
    const shares = runners.map((s) => s.stats.done);
    expect(shares.every((n) => n > 0)).toBe(true);
    expect(shares.reduce((x, y) => x + y)).toBe(300);
  });

  it("three polling runners with leases far shorter than their handlers still run each job once", async () => {
    const { dbs } = await databases(3);
    const random = prng(11);
    const intervals: Interval[] = [];
    const runners: Scheduler[] = dbs.map((db, i) => {
      // Real time here, so that leases (5 ms) run out while handlers (up to 15 ms) and batches run.
      const s = testScheduler(db, Date.now, { batchSize: 10, leaseMs: 5, pollMs: 5 });
      s.register("job", slowHandler(`r${i}`, intervals, random.next, 15));
      return s;
    });
    const first = dbs[0] as Database;
    const ids: number[] = [];
    for (let i = 0; i < 150; i++)
      ids.push(await schedule(first, { kind: "job", runAt: 0, maxAttempts: 1_000 }));
    for (const s of runners) s.start();
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [row] = await first.query<{ n: number }>(
        "select count(*)::int as n from jobs where state <> 'done'",
      );
      if (row?.n === 0) break;
      if (Date.now() > deadline) throw new Error("jobs still not done after 60 s");
      await sleep(50);
    }
    await Promise.all(runners.map((s) => s.stop()));
    await expectEachRanOnce(first, ids, intervals);
    // Leases did run out under the runners: claims were taken back and found gone.
    expect(runners.reduce((n, s) => n + s.stats.lost, 0)).toBeGreaterThan(0);
  });

  it("a process killed mid-job keeps its job until PostgreSQL drops its transaction; then another runs it", async () => {
    const { url, dbs } = await databases(1);
    const db = dbs[0] as Database;
    const held = await schedule(db, { kind: "hold", runAt: 0 });
    const child = spawn(process.execPath, ["test/support/scheduler-child.mjs", url], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
    });
    const exited = new Promise((resolve) => child.on("exit", resolve));
    cleanup.push(async () => {
      child.kill("SIGKILL");
      await exited;
    });
    const deadline = Date.now() + 20_000;
    while (!out.includes(`started ${held}`)) {
      if (Date.now() > deadline) throw new Error(`the child did not start the job: ${out}`);
      await sleep(20);
    }
    // Mid-handler in the child. Even with its lease over by this runner's clock, the job is not taken.
    const later = Date.now() + 120_000;
    const runs: number[] = [];
    const s = testScheduler(db, () => later);
    s.register("hold", async (tx, job) => {
      await tx.query("insert into job_effects (job_id, note) values ($1, 'parent')", [job.id]);
      runs.push(job.attempts);
    });
    expect(await s.runDue()).toBe(0);
    expect(await storedJob(db, held)).toMatchObject({ state: "running", attempts: 1 });

    child.kill("SIGKILL");
    await exited;
    // PostgreSQL rolls the dead process's transaction back as soon as it sees the connection gone.
    const until = Date.now() + 10_000;
    while (runs.length === 0) {
      if (Date.now() > until) throw new Error("the killed process's job was not taken over");
      await s.runDue();
      await sleep(20);
    }
    expect(runs).toEqual([2]);
    expect(await storedJob(db, held)).toMatchObject({ state: "done", attempts: 2 });
    // The child's write died with it: the job's effect is the parent's alone.
    expect(await db.query("select job_id, note from job_effects")).toEqual([
      { job_id: held, note: "parent" },
    ]);
  });
});
