import { jobsByWorkspace } from "../scheduler/jobs-table.js";
import type { Scheduler } from "../scheduler/run-scheduler.js";
import { checkLead, LEAD_JOB } from "./check-lead.js";
import { STEP_JOB } from "./enrollments.js";
import { runStep, runSteps } from "./run-step.js";

export interface NurtureJobHooks {
  /** Step jobs queued marketing email, and committed: the email sender should look now. */
  emailQueued?: () => void;
}

/**
 * Nurture's timed work, run by every processing process: lead checks, and sequence steps (a claim's
 * step jobs run as one batch, `runSteps`; one alone if the batch fails).
 */
export function registerNurtureJobs(scheduler: Scheduler, hooks: NurtureJobHooks = {}): void {
  scheduler.register<{ leadId: string }>(LEAD_JOB, async (tx, job, now) => {
    await checkLead(tx, job.workspaceId, job.payload.leadId, now);
  });
  let queued = 0;
  scheduler.register<{ enrollmentId: string }>(
    STEP_JOB,
    async (tx, job, now) => {
      queued += await runStep(tx, job.workspaceId, job.payload.enrollmentId, now);
    },
    {
      batch: async (tx, jobs, now) => {
        for (const [ws, group] of jobsByWorkspace(jobs))
          queued += await runSteps(
            tx,
            ws,
            group.map((j) => j.payload.enrollmentId),
            now,
          );
      },
      committed: () => {
        if (queued > 0) hooks.emailQueued?.();
        queued = 0;
      },
    },
  );
}
