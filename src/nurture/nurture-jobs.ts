import type { Scheduler } from "../scheduler/run-scheduler.js";
import { checkLead, LEAD_JOB } from "./check-lead.js";
import { STEP_JOB } from "./enrollments.js";
import { runStep } from "./run-step.js";

/** Nurture's timed work, run by every processing process: lead checks and sequence steps. */
export function registerNurtureJobs(scheduler: Scheduler): void {
  scheduler.register<{ leadId: string }>(LEAD_JOB, async (tx, job, now) => {
    await checkLead(tx, job.workspaceId, job.payload.leadId, now);
  });
  scheduler.register<{ enrollmentId: string }>(STEP_JOB, async (tx, job, now) => {
    await runStep(tx, job.workspaceId, job.payload.enrollmentId, now);
  });
}
