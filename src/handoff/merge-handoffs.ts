import type { Queryable } from "../db/database.js";
import { cancelJob } from "../scheduler/schedule-job.js";
import { SLA_JOB } from "./assign-handoff.js";
import { recordHistory } from "./handoff-history.js";
import { OPEN_STATUSES } from "./handoff-queries.js";

const RANK: Record<string, number> = { pending: 0, accepted: 1, converted: 2, opportunity: 3 };

/**
 * When lead `from` merges into `into` (in the merge's transaction): of their open handoffs the most
 * advanced is kept (the survivor's on a tie) and the other is closed as `merged`; every handoff of
 * `from` then belongs to `into`.
 */
export async function mergeHandoffs(
  tx: Queryable,
  ws: string,
  from: string,
  into: string,
  at: number,
): Promise<void> {
  const open = await tx.query<{ id: string; lead_id: string; status: string; owner_id: string | null }>(
    `select id, lead_id, status, owner_id from handoffs
     where workspace_id = $1 and lead_id = any($2) and status = any($3) order by id for update`,
    [ws, [from, into], OPEN_STATUSES],
  );
  if (open.length > 1) {
    const score = (h: (typeof open)[number]) => (RANK[h.status] ?? 0) * 2 + (h.lead_id === into ? 1 : 0);
    const [keep, close] =
      open[0] && open[1] && score(open[0]) >= score(open[1]) ? [open[0], open[1]] : [open[1], open[0]];
    if (keep && close) {
      await tx.query(
        `update handoffs set status = 'merged', merged_into = $3, closed_at = $4, updated_at = $4
         where workspace_id = $1 and id = $2`,
        [ws, close.id, keep.id, at],
      );
      await recordHistory(tx, ws, {
        handoffId: close.id,
        at,
        action: "merged",
        from: close.status,
        to: "merged",
        ownerId: close.owner_id,
        actor: "system",
        detail: { into: keep.id, lead: into },
      });
      await cancelJob(tx, ws, SLA_JOB, `sla:${close.id}`);
    }
  }
  await tx.query("update handoffs set lead_id = $3 where workspace_id = $1 and lead_id = $2", [
    ws,
    from,
    into,
  ]);
}
