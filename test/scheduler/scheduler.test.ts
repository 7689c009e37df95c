import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.js";
import { retryDelay } from "../../src/scheduler/backoff.js";
import { claimJobs, LEASE_RAN_OUT } from "../../src/scheduler/claim-jobs.js";
import { completeJob, lockClaimed } from "../../src/scheduler/finish-job.js";
import { pruneJobs } from "../../src/scheduler/prune-jobs.js";
import type { JobHandler } from "../../src/scheduler/run-scheduler.js";
import { cancelJob, scheduleJob } from "../../src/scheduler/schedule-job.js";
import {
  jobStates,
  recorder,
  schedule,
  storedJob,
  testClock,
  testScheduler,
  WS,
} from "../support/scheduler-fixtures.js";
import { DATABASE_KINDS, openTestDatabase } from "../support/test-database.js";

const T = 1_700_000_000_000;

describe("retry delays", () => {
  const backoff = { baseMs: 1_000, capMs: 10_000 };
  it("double after each failure up to the cap, with the upper half random", () => {
    expect([1, 2, 3, 4, 5, 9].map((a) => retryDelay(a, backoff, () => 0))).toEqual([
      500, 1_000, 2_000, 4_000, 5_000, 5_000,
    ]);
    expect([1, 2, 3, 4, 5].map((a) => retryDelay(a, backoff, () => 0.999_999))).toEqual([
      1_000, 2_000, 4_000, 8_000, 10_000,
    ]);
  });
});

describe.each(DATABASE_KINDS)("the scheduler on %s", (kind) => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase(kind);
    await db.exec("create table job_effects (job_id bigint not null, note text not null)");
  });
  afterAll(async () => {
    await db.close();
  });
  beforeEach(async () => {
    await db.exec("delete from jobs; delete from job_effects");
  });

  it("runs a job at its due time and not a millisecond before, once, with its payload", async () => {
    const clock = testClock(T - 1);
    const s = testScheduler(db, clock.now);
    const r = recorder();
    s.register("sla", r.handler);
    const id = await schedule(db, { kind: "sla", runAt: T, payload: { handoff: "h1" } });
    expect(await s.runDue()).toBe(0);
    expect(r.runs).toEqual([]);
    clock.set(T);
    expect(await s.runDue()).toBe(1);
    expect(r.runs).toEqual([{ id, key: null, payload: { handoff: "h1" }, attempts: 1, now: T }]);
    expect(await s.runDue(T + 60_000)).toBe(0);
    expect(await storedJob(db, id)).toMatchObject({ state: "done", attempts: 1, locked_until: null });
    expect(s.stats).toMatchObject({ done: 1, retried: 0, failed: 0 });
  });

  it("runs due jobs in due order, and leaves jobs of kinds it has no handler for", async () => {
    const s = testScheduler(db, () => T);
    const r = recorder();
    s.register("a", r.handler);
    const late = await schedule(db, { kind: "a", runAt: T - 1 });
    const early = await schedule(db, { kind: "a", runAt: T - 3 });
    const other = await schedule(db, { kind: "b", runAt: T - 5 });
    const middle = await schedule(db, { kind: "a", runAt: T - 2 });
    await s.runDue();
    expect(r.runs.map((x) => x.id)).toEqual([early, middle, late]);
    expect(await storedJob(db, other)).toMatchObject({ state: "scheduled", attempts: 0 });
  });

  it("keeps one job per key: scheduling the key again moves it, with the new payload", async () => {
    const s = testScheduler(db, () => T);
    const r = recorder();
    s.register("sla", r.handler);
    const id = await schedule(db, { kind: "sla", key: "h1", runAt: T + 1_000, payload: 1 });
    expect(await schedule(db, { kind: "sla", key: "h1", runAt: T + 5_000, payload: 2 })).toBe(id);
    // The same key in another kind or workspace is another job.
    const otherKind = await schedule(db, { kind: "nurture", key: "h1", runAt: T });
    const otherWs = await schedule(db, { ws: "other", kind: "sla", key: "h1", runAt: T + 5_000 });
    expect(new Set([id, otherKind, otherWs]).size).toBe(3);
    expect(await s.runDue(T + 4_999)).toBe(0);
    expect(await s.runDue(T + 5_000)).toBe(2);
    expect(r.runs.map((x) => [x.id, x.payload])).toEqual([
      [id, 2],
      [otherWs, null],
    ]);
    // Moved earlier, it runs earlier; after it ran, scheduling the key again runs it again.
    await schedule(db, { kind: "sla", key: "h1", runAt: T + 6_000, payload: 3 });
    await schedule(db, { kind: "sla", key: "h1", runAt: T + 5_500, payload: 4 });
    expect(await s.runDue(T + 5_500)).toBe(1);
    expect(r.runs.at(-1)).toMatchObject({ id, payload: 4, attempts: 1, now: T + 5_500 });
  });

  it("with ifExists 'keep', scheduling a key is idempotent", async () => {
    const s = testScheduler(db, () => T);
    const r = recorder();
    s.register("webhook", r.handler);
    const spec = { kind: "webhook", key: "delivery:1", runAt: T, ifExists: "keep" as const };
    const id = await schedule(db, { ...spec, payload: "first" });
    expect(await schedule(db, { ...spec, runAt: T + 1, payload: "second" })).toBe(id);
    expect(await storedJob(db, id)).toMatchObject({ run_at: T });
    await s.runDue(T + 10);
    expect(await schedule(db, { ...spec, payload: "third" })).toBe(id);
    await s.runDue(T + 20);
    expect(r.runs.map((x) => x.payload)).toEqual(["first"]);
    expect(await db.query("select count(*)::int as n from jobs")).toEqual([{ n: 1 }]);
  });

  it("cancels a job by key, and a cancelled key can be scheduled again", async () => {
    const s = testScheduler(db, () => T);
    const r = recorder();
    s.register("sla", r.handler);
    const id = await schedule(db, { kind: "sla", key: "h1", runAt: T });
    expect(await db.transaction((tx) => cancelJob(tx, WS, "sla", "h1"))).toBe(true);
    expect(await db.transaction((tx) => cancelJob(tx, WS, "sla", "h1"))).toBe(false);
    expect(await db.transaction((tx) => cancelJob(tx, WS, "sla", "nothing"))).toBe(false);
    expect(await s.runDue(T + 1_000)).toBe(0);
    expect(await storedJob(db, id)).toMatchObject({ state: "cancelled" });
    await schedule(db, { kind: "sla", key: "h1", runAt: T + 2_000 });
    await s.runDue(T + 2_000);
    expect(r.runs.map((x) => x.id)).toEqual([id]);
    // A job that ran cannot be cancelled.
    expect(await db.transaction((tx) => cancelJob(tx, WS, "sla", "h1"))).toBe(false);
  });

  it("a job scheduled in a transaction that rolls back does not exist", async () => {
    await expect(
      db.transaction(async (tx) => {
        await scheduleJob(tx, { ws: WS, kind: "sla", key: "h1", runAt: T });
        throw new Error("the fact failed");
      }),
    ).rejects.toThrow("the fact failed");
    expect(await jobStates(db)).toEqual({});
  });

  it("retries a failing job with exponential backoff and jitter, then fails it with its last error", async () => {
    const failures: [number, string][] = [];
    const s = testScheduler(db, () => T, {
      onFailure: (job, _e, outcome) => failures.push([job.attempts, outcome]),
    });
    let calls = 0;
    s.register(
      "webhook",
      async (_tx, job) => {
        calls++;
        throw new Error(`receiver down (attempt ${job.attempts})`);
      },
      { backoff: { baseMs: 1_000, capMs: 60_000 } },
    );
    const id = await schedule(db, { kind: "webhook", runAt: T, maxAttempts: 3 });
    await s.runDue(T);
    // Attempt 1 failed: 1 s, half of it jittered (random 0.5): due again 750 ms later.
    expect(await storedJob(db, id)).toMatchObject({ state: "scheduled", attempts: 1, run_at: T + 750 });
    expect((await storedJob(db, id)).last_error).toContain("receiver down (attempt 1)");
    expect(await s.runDue(T + 749)).toBe(0);
    await s.runDue(T + 750);
    expect(await storedJob(db, id)).toMatchObject({
      state: "scheduled",
      attempts: 2,
      run_at: T + 750 + 1_500,
    });
    await s.runDue(T + 2_250);
    const failed = await storedJob(db, id);
    expect(failed).toMatchObject({ state: "failed", attempts: 3, locked_until: null });
    expect(failed.last_error).toContain("receiver down (attempt 3)");
    await s.runDue(T + 10_000_000);
    expect(calls).toBe(3);
    expect(failures).toEqual([
      [1, "retry"],
      [2, "retry"],
      [3, "failed"],
    ]);
    expect(s.stats).toMatchObject({ done: 0, retried: 2, failed: 1 });
    // Scheduling the key-less job's kind again is a new job; a failed keyed job can be rescheduled.
    await schedule(db, { kind: "webhook", key: "k", runAt: T, maxAttempts: 1 });
    await s.runDue(T + 10_000_000);
    expect(await db.query("select key, state from jobs where key = 'k'")).toEqual([
      { key: "k", state: "failed" },
    ]);
  });

  it("commits a handler's writes with the job, and rolls them back when it fails", async () => {
    const s = testScheduler(db, () => T);
    let fail = true;
    s.register("effect", async (tx, job) => {
      await tx.query("insert into job_effects (job_id, note) values ($1, $2)", [
        job.id,
        `try ${job.attempts}`,
      ]);
      if (fail) throw new Error("after writing");
    });
    const id = await schedule(db, { kind: "effect", runAt: T });
    await s.runDue(T);
    expect(await db.query("select note from job_effects")).toEqual([]);
    fail = false;
    await s.runDue(T + 3_600_000);
    expect(await db.query("select job_id, note from job_effects")).toEqual([{ job_id: id, note: "try 2" }]);
    expect(await storedJob(db, id)).toMatchObject({ state: "done", last_error: null });
  });

  it("runs a kind's claimed jobs as one batch; when the batch fails, each alone, so a bad job fails alone", async () => {
    const s = testScheduler(db, () => T, { batchSize: 10 });
    const batches: number[][] = [];
    const alone: number[] = [];
    const note = (tx: Parameters<JobHandler>[0], id: number, how: string) =>
      tx.query("insert into job_effects (job_id, note) values ($1, $2)", [id, how]);
    let committed = 0;
    s.register<string>(
      "step",
      async (tx, job) => {
        alone.push(job.id);
        if (job.payload === "bad") throw new Error("a bad job");
        await note(tx, job.id, "alone");
      },
      {
        batch: async (tx, jobs) => {
          batches.push(jobs.map((j) => j.id));
          for (const j of jobs) await note(tx, j.id, "batch");
          if (jobs.some((j) => j.payload === "bad")) throw new Error("a bad job in the batch");
        },
        committed: () => committed++,
      },
    );
    const r = recorder();
    s.register("other", r.handler);
    const good = [await schedule(db, { kind: "step", runAt: T - 3, payload: "ok" })];
    const other = await schedule(db, { kind: "other", runAt: T - 2 });
    good.push(await schedule(db, { kind: "step", runAt: T - 1, payload: "ok" }));
    expect(await s.runDue(T)).toBe(3);
    expect(batches).toEqual([good]);
    expect(alone).toEqual([]);
    expect(r.runs.map((x) => x.id)).toEqual([other]);
    expect(committed).toBe(1);
    for (const id of good) expect(await storedJob(db, id)).toMatchObject({ state: "done" });

    // One bad job: the batch rolls back, then the good ones run alone and the bad one is retried.
    await db.exec("delete from job_effects");
    const next = [
      await schedule(db, { kind: "step", runAt: T, payload: "ok" }),
      await schedule(db, { kind: "step", runAt: T, payload: "bad" }),
      await schedule(db, { kind: "step", runAt: T, payload: "ok" }),
    ];
    await s.runDue(T);
    expect(batches[1]).toEqual(next);
    expect(alone).toEqual(next);
    const effects = await db.query<{ job_id: number; note: string }>(
      "select job_id, note from job_effects order by job_id",
    );
    expect(effects).toEqual([
      { job_id: next[0], note: "alone" },
      { job_id: next[2], note: "alone" },
    ]);
    expect(await storedJob(db, next[1] as number)).toMatchObject({ state: "scheduled", attempts: 1 });
    expect((await storedJob(db, next[1] as number)).last_error).toContain("a bad job");
    expect(s.stats).toMatchObject({ done: 5, retried: 1 });
  });

  it("lets a handler reschedule its own job (a repeating timer) or schedule others", async () => {
    const s = testScheduler(db, () => T);
    const seen: [string | null, number][] = [];
    s.register("tick", async (tx, job, now) => {
      seen.push([job.key, now]);
      const n = job.payload as number;
      if (n < 3)
        await scheduleJob(tx, {
          ws: job.workspaceId,
          kind: "tick",
          key: job.key,
          runAt: now + 1_000,
          payload: n + 1,
        });
      if (n === 1)
        await scheduleJob(tx, { ws: job.workspaceId, kind: "tick", key: "child", runAt: now, payload: 3 });
    });
    const id = await schedule(db, { kind: "tick", key: "t", runAt: T, payload: 1 });
    // The child is due at once: the same runDue runs it.
    expect(await s.runDue(T)).toBe(2);
    expect(await storedJob(db, id)).toMatchObject({ state: "scheduled", run_at: T + 1_000, attempts: 0 });
    await s.runDue(T + 1_000);
    await s.runDue(T + 2_000);
    await s.runDue(T + 9_000);
    expect(seen).toEqual([
      ["t", T],
      ["child", T],
      ["t", T + 1_000],
      ["t", T + 2_000],
    ]);
    expect(await storedJob(db, id)).toMatchObject({ state: "done" });
  });

  it("runs a job again once the lease of a runner that died mid-job has run out", async () => {
    const s = testScheduler(db, () => T, { leaseMs: 30_000 });
    const r = recorder();
    s.register("sla", r.handler);
    const id = await schedule(db, { kind: "sla", key: "h1", runAt: T });
    // A runner claims the job and dies before running it.
    const [dead] = await claimJobs(db, { now: T, kinds: ["sla"], limit: 10, leaseMs: 30_000 });
    expect(dead).toMatchObject({ id, attempts: 1 });
    expect(await storedJob(db, id)).toMatchObject({ state: "running", locked_until: T + 30_000 });
    expect(await s.runDue(T)).toBe(0);
    expect(await s.runDue(T + 29_999)).toBe(0);
    expect(await s.runDue(T + 30_000)).toBe(1);
    expect(r.runs).toEqual([{ id, key: "h1", payload: null, attempts: 2, now: T + 30_000 }]);
    // The dead runner's claim is gone: had it come back, it could not run or complete the job.
    const claim = dead as NonNullable<typeof dead>;
    await schedule(db, { kind: "sla", key: "h1", runAt: T + 90_000 });
    expect(await db.transaction((tx) => lockClaimed(tx, claim))).toBeNull();
    await db.transaction((tx) => completeJob(tx, claim));
    expect(await storedJob(db, id)).toMatchObject({ state: "scheduled", run_at: T + 90_000 });
  });

  it("fails a job whose runner died on its last attempt, without running it again", async () => {
    const s = testScheduler(db, () => T, { leaseMs: 1_000 });
    const r = recorder();
    s.register("poison", r.handler);
    const id = await schedule(db, { kind: "poison", runAt: T, maxAttempts: 2 });
    const claim = { kinds: ["poison"], limit: 10, leaseMs: 1_000 };
    expect(await claimJobs(db, { ...claim, now: T })).toHaveLength(1);
    expect(await claimJobs(db, { ...claim, now: T + 1_000 })).toMatchObject([{ id, attempts: 2 }]);
    expect(await s.runDue(T + 2_000)).toBe(0);
    expect(r.runs).toEqual([]);
    expect(await storedJob(db, id)).toMatchObject({
      state: "failed",
      attempts: 2,
      last_error: LEASE_RAN_OUT,
    });
  });

  it("on stop, finishes the job in hand and gives the rest of its batch back", async () => {
    const s = testScheduler(db, () => T, { pollMs: 60_000 });
    let release = () => {};
    const started = new Promise<void>((resolve) => {
      s.register("slow", async () => {
        resolve();
        await new Promise<void>((r) => {
          release = r;
        });
      });
    });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await schedule(db, { kind: "slow", runAt: T - 10 + i }));
    s.start();
    await started;
    const stopped = s.stop();
    release();
    await stopped;
    const states = await Promise.all(ids.map((id) => storedJob(db, id)));
    expect(states.map((j) => [j.state, j.attempts, j.locked_until])).toEqual([
      ["done", 1, null],
      ["scheduled", 0, null],
      ["scheduled", 0, null],
    ]);
  });

  it("refuses a second handler for one kind", () => {
    const s = testScheduler(db, () => T);
    s.register("sla", async () => {});
    expect(() => s.register("sla", async () => {})).toThrow("registered already");
  });

  it("prunes jobs that finished long ago, but keeps failed ones", async () => {
    const s = testScheduler(db, () => T);
    s.register("a", async () => {});
    s.register("f", async () => {
      throw new Error("no");
    });
    const done = await schedule(db, { kind: "a", runAt: T });
    const failed = await schedule(db, { kind: "f", runAt: T, maxAttempts: 1 });
    const recent = await schedule(db, { kind: "a", runAt: T });
    const pending = await schedule(db, { kind: "a", runAt: T + 1_000 });
    await s.runDue(T);
    await db.query("update jobs set finished_at = now() - interval '8 days' where id = any($1::bigint[])", [
      [done, failed],
    ]);
    expect(await pruneJobs(db, 7 * 86_400_000)).toBe(1);
    const left = await db.query<{ id: number }>("select id from jobs order by id");
    expect(left.map((j) => j.id)).toEqual([failed, recent, pending]);
  });
});
