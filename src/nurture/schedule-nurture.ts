import type { Queryable } from "../db/database.js";
import { scheduleJobs } from "../scheduler/schedule-job.js";
import { LEAD_JOB } from "./check-lead.js";

/**
 * Called where the pipeline writes a batch, in its transaction: each lead it changed gets its
 * `nurture.lead` job due now (one per lead, however many batches touch it before it runs). A
 * workspace with no running sequence and no audience pays one cheap query per batch.
 */
export async function scheduleNurture(tx: Queryable, ws: string, leadIds: readonly string[], now: number) {
  if (leadIds.length === 0) return;
  const on = await tx.query<{ on: boolean }>(
    `select exists (select 1 from sequences where workspace_id = $1 and active)
       or exists (select 1 from audiences where workspace_id = $1 and active) as on`,
    [ws],
  );
  if (!on[0]?.on) return;
  await scheduleJobs(
    tx,
    leadIds.map((id) => ({ ws, kind: LEAD_JOB, key: `lead:${id}`, runAt: now, payload: { leadId: id } })),
  );
}
