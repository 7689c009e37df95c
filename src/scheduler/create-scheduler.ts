import { registerAnalyticsJobs } from "../analytics/analytics-jobs.js";
import type { Config } from "../config/load-config.js";
import type { Database } from "../db/database.js";
import { registerHandoffJobs } from "../handoff/handoff-jobs.js";
import { type NurtureJobHooks, registerNurtureJobs } from "../nurture/nurture-jobs.js";
import { Scheduler } from "./run-scheduler.js";

/** The part of a pino (or Fastify) logger the scheduler writes to. */
interface Log {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * The scheduler as `qualify start` and `qualify worker` run it, over every workspace, logging its
 * failures to `log()` (a function: the service's logger exists only once its app is built).
 * Handlers that every processing process needs are registered here, so that both kinds run them.
 */
export function createScheduler(
  config: Config,
  db: Database,
  clock: () => number,
  log: () => Log | undefined,
  hooks: NurtureJobHooks = {},
): Scheduler {
  const scheduler = new Scheduler(db, {
    clock,
    pollMs: config.schedulerPollMs,
    batchSize: config.schedulerBatch,
    onError: (e) => log()?.error({ err: e }, "scheduler failed; it will try again"),
    onFailure: (job, e, outcome) =>
      log()?.warn({ err: e, job: { id: job.id, kind: job.kind, key: job.key }, outcome }, "job failed"),
  });
  registerHandoffJobs(scheduler);
  registerNurtureJobs(scheduler, hooks);
  registerAnalyticsJobs(scheduler, config.analyticsRollupMs);
  return scheduler;
}
