import type { Database, Queryable } from "../../src/db/database.js";
import type { JobState } from "../../src/scheduler/jobs-table.js";
import { type JobHandler, Scheduler, type SchedulerOptions } from "../../src/scheduler/run-scheduler.js";
import { type JobSpec, scheduleJob } from "../../src/scheduler/schedule-job.js";

export const WS = "default";

/** A clock that only moves when told to. */
export function testClock(start = 1_700_000_000_000) {
  let now = start;
  return {
    now: () => now,
    set(t: number) {
      now = t;
    },
    advance(ms: number) {
      now += ms;
      return now;
    },
  };
}

/** A runner on `db` with a controlled clock and no randomness (the jitter's random is 0.5). */
export function testScheduler(db: Database, clock: () => number, opts: Partial<SchedulerOptions> = {}) {
  return new Scheduler(db, { clock, random: () => 0.5, ...opts });
}

/** One run of a handler, as it saw it. */
export interface Run {
  id: number;
  key: string | null;
  payload: unknown;
  attempts: number;
  now: number;
}

/** A handler that records every run, and the runs it recorded. */
export function recorder(): { runs: Run[]; handler: JobHandler } {
  const runs: Run[] = [];
  return {
    runs,
    handler: async (_tx, job, now) => {
      runs.push({ id: job.id, key: job.key, payload: job.payload, attempts: job.attempts, now });
    },
  };
}

/** Schedules in a transaction of its own. */
export function schedule(db: Database, spec: Omit<JobSpec, "ws"> & { ws?: string }): Promise<number> {
  return db.transaction((tx) => scheduleJob(tx, { ws: WS, ...spec }));
}

export interface StoredJob {
  id: number;
  key: string | null;
  state: JobState;
  run_at: number;
  attempts: number;
  last_error: string | null;
  locked_until: number | null;
}

export async function storedJob(db: Queryable, id: number): Promise<StoredJob> {
  const rows = await db.query<StoredJob>(
    "select id, key, state, run_at, attempts, last_error, locked_until from jobs where id = $1",
    [id],
  );
  const row = rows[0];
  if (!row) throw new Error(`no job ${id}`);
  return row;
}

export async function jobStates(db: Queryable): Promise<Record<string, number>> {
  const rows = await db.query<{ state: string; n: number }>(
    "select state, count(*)::int as n from jobs group by state order by state",
  );
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}
