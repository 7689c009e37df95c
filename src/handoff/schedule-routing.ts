import type { Queryable } from "../db/database.js";
import { scheduleJobs } from "../scheduler/schedule-job.js";

export const ROUTE_JOB = "handoff.route";

export interface RouteJob {
  leadId: string;
  /** The MQL transition: one handoff per MQL, however often the job runs. */
  sourceKey: string;
  mqlAt: number;
  handRaiser: boolean;
}

/**
 * Called where MQL transitions are stored (live processing, model publish), in their transaction:
 * the `handoff.route` job routes each lead within seconds (`assign-handoff.ts`). One statement for
 * all of them.
 */
export async function scheduleRouting(tx: Queryable, ws: string, jobs: readonly RouteJob[]): Promise<void> {
  if (jobs.length === 0) return;
  await scheduleJobs(
    tx,
    jobs.map((job) => ({
      ws,
      kind: ROUTE_JOB,
      key: `route:${job.sourceKey}`,
      runAt: job.mqlAt,
      payload: job,
    })),
    "keep",
  );
}
