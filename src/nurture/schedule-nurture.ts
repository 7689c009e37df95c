import type { Queryable } from "../db/database.js";
import { scheduleJobs } from "../scheduler/schedule-job.js";
import { LEAD_JOB } from "./check-lead.js";

/** Whether workspace $1 runs a sequence or an audience: only then do changed leads need a check. */
export const NURTURING_SQL = `(exists (select 1 from sequences where workspace_id = $1 and active)
  or exists (select 1 from audiences where workspace_id = $1 and active))`;

/**
 * Called where the pipeline writes a batch, in its transaction: each lead it changed gets its
 * `nurture.lead` job due now (one per lead, however many batches touch it before it runs). A
 * workspace with no running sequence and no audience pays one cheap query per batch.
 */
export async function scheduleNurture(
  tx: Queryable,
  ws: string,
  leadIds: readonly string[],
  now: number,
  /** Set when the caller already read `NURTURING_SQL` in this transaction and it was true. */
  nurturing?: true,
) {
  if (leadIds.length === 0) return;
  if (!nurturing) {
    const on = await tx.query<{ on: boolean }>(`select ${NURTURING_SQL} as on`, [ws]);
    if (!on[0]?.on) return;
  }
  await scheduleJobs(
    tx,
    leadIds.map((id) => ({ ws, kind: LEAD_JOB, key: `lead:${id}`, runAt: now, payload: { leadId: id } })),
  );
}
