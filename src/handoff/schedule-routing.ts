import type { Queryable } from "../db/database.js";
import { scheduleJob } from "../scheduler/schedule-job.js";

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
 * the `handoff.route` job routes the lead within seconds (`assign-handoff.ts`).
 */
export async function scheduleRouting(tx: Queryable, ws: string, job: RouteJob): Promise<void> {
  await scheduleJob(tx, {
    ws,
    kind: ROUTE_JOB,
    key: `route:${job.sourceKey}`,
    runAt: job.mqlAt,
    payload: job,
    ifExists: "keep",
  });
}
