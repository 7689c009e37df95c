import type { Database } from "../db/database.js";
import type { Scheduler } from "../scheduler/run-scheduler.js";
import { scheduleJob } from "../scheduler/schedule-job.js";
import { rollupStep } from "./rollup.js";

/**
 * The `analytics.rollup` job, one per workspace (key `rollup`): a paced rollup step, then again
 * after a pause as long as the step while facts wait, else after `everyMs`. Every processing
 * process runs it; the scheduler runs a job in one process at a time. Reports catch up themselves
 * too (`catchUpRollup`), so this only keeps the work each report does small.
 */
export const ROLLUP_JOB = "analytics.rollup";
const KEY = "rollup";

export function registerAnalyticsJobs(scheduler: Scheduler, everyMs: number): void {
  scheduler.register(ROLLUP_JOB, async (tx, job, now) => {
    const started = performance.now();
    const step = await rollupStep(tx, job.workspaceId, { paced: true });
    // The step pauses after each chunk of leads as long as the chunk took, and, catching up, the
    // next step waits as long as this one took (pauses included): the rollup takes at most about
    // half of what it shares with live processing at any moment, so it does not hold processing up.
    const pause = Math.ceil(performance.now() - started);
    await scheduleJob(tx, {
      ws: job.workspaceId,
      kind: ROLLUP_JOB,
      key: KEY,
      runAt: step.more ? now + pause : now + everyMs,
    });
  });
}

/** Gives every workspace its rollup job, if it has none (at start). */
export async function seedRollupJobs(db: Database, now: number): Promise<void> {
  const rows = await db.query<{ id: string }>("select id from workspaces");
  for (const { id } of rows)
    await scheduleJob(db, { ws: id, kind: ROLLUP_JOB, key: KEY, runAt: now, ifExists: "keep" });
}
