import { jobsByWorkspace } from "../scheduler/jobs-table.js";
import type { Scheduler } from "../scheduler/run-scheduler.js";
import { routeMqls, SLA_JOB } from "./assign-handoff.js";
import { ROUTE_JOB, type RouteJob } from "./schedule-routing.js";
import { checkSla } from "./sla-breach.js";

/** The handoff's timed work, run by every processing process: routing new MQLs, and SLA checks. */
export function registerHandoffJobs(scheduler: Scheduler): void {
  scheduler.register<RouteJob>(
    ROUTE_JOB,
    async (tx, job, now) => {
      await routeMqls(tx, job.workspaceId, [job.payload], now);
    },
    {
      // A claim's routings in one transaction (the routing lock and the active routing once).
      batch: async (tx, jobs, now) => {
        for (const [ws, group] of jobsByWorkspace(jobs))
          await routeMqls(
            tx,
            ws,
            group.map((j) => j.payload),
            now,
          );
      },
    },
  );
  scheduler.register<{ handoffId: string }>(SLA_JOB, async (tx, job, now) => {
    await checkSla(tx, job.workspaceId, job.payload.handoffId, now);
  });
}
