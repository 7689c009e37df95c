import type { Queryable } from "../db/database.js";
import { writeOutbox } from "../db/outbox.js";
import { advancePointer, loadCandidates, loadPointers, slaDue, startSlaTimer } from "./assign-handoff.js";
import type { Sla } from "./business-calendar.js";
import { recordHistory } from "./handoff-history.js";
import { handoffMessage, loadHandoff } from "./handoff-messages.js";
import { pickInTeam, type Skipped } from "./route-lead.js";
import { activeRouting } from "./routing-store.js";

/**
 * The `handoff.sla` job, at a handoff's due time. A handoff still pending then is breached: the
 * breach is counted and recorded, `handoff.breached` escalates, and a team that says
 * `onBreach: reassign` gives the lead to its next free member, whose clock starts afresh.
 */
export async function checkSla(tx: Queryable, ws: string, handoffId: string, now: number): Promise<void> {
  const h = await loadHandoff(tx, ws, handoffId, true);
  // Acted on in time, or moved (a reassignment reschedules this job).
  if (h.status !== "pending" || h.due_at === null || Number(h.due_at) > now) return;
  await tx.query(
    `update handoffs set breaches = breaches + 1, last_breach_at = $3, updated_at = $3
     where workspace_id = $1 and id = $2`,
    [ws, handoffId, now],
  );
  await recordHistory(tx, ws, {
    handoffId,
    at: now,
    action: "breached",
    from: "pending",
    to: "pending",
    ownerId: h.owner_id,
    actor: "sla",
    detail: { dueAt: new Date(Number(h.due_at)).toISOString() },
  });
  const messages = [await handoffMessage(tx, ws, handoffId, "handoff.breached", now)];
  const active = await activeRouting(tx, ws);
  const team = active?.routing.teams.get(h.team);
  if (active && team?.onBreach === "reassign") {
    const skipped: Skipped[] = [];
    const others = (await loadCandidates(tx, ws, active.routing, now)).filter((c) => c.id !== h.owner_id);
    const next = pickInTeam(team, team.pick, others, await loadPointers(tx, ws), skipped);
    if (next) {
      await reassign(tx, ws, handoffId, {
        ownerId: next.id,
        due: slaDue(team, h.sla as Sla | null, now),
        now,
        actor: "sla",
        by: null,
        detail: { reason: "SLA breached", from: h.owner_id, to: next.email, skipped },
      });
      await advancePointer(tx, ws, team.id, next.id);
      messages.push(await handoffMessage(tx, ws, handoffId, "handoff.assigned", now));
    }
  }
  await writeOutbox(tx, ws, messages);
}

/** Gives the handoff to another owner: the clock restarts from now. */
export async function reassign(
  tx: Queryable,
  ws: string,
  handoffId: string,
  r: { ownerId: string; due: number | null; now: number; actor: string; by: string | null; detail: unknown },
): Promise<void> {
  const rows = await tx.query<{ lead_id: string; status: string }>(
    `update handoffs set owner_id = $3, assigned_at = $4, due_at = $5, updated_at = $4
     where workspace_id = $1 and id = $2 returning lead_id, status`,
    [ws, handoffId, r.ownerId, r.now, r.due],
  );
  const row = rows[0];
  if (!row) return;
  await tx.query("update leads set owner = $3 where workspace_id = $1 and id = $2", [
    ws,
    row.lead_id,
    r.ownerId,
  ]);
  await recordHistory(tx, ws, {
    handoffId,
    at: r.now,
    action: "reassigned",
    from: row.status,
    to: row.status,
    ownerId: r.ownerId,
    actor: r.actor,
    by: r.by,
    detail: r.detail,
  });
  if (row.status === "pending") await startSlaTimer(tx, ws, handoffId, r.due);
}
