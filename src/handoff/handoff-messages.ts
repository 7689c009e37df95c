import type { Queryable } from "../db/database.js";
import type { OutboxRow } from "../db/outbox.js";
import { QualifyError } from "../errors.js";
import { allowedActions } from "./handoff-statuses.js";

/**
 * Handoffs as the API and notifications show them, and the outbox messages of their events
 * (`handoff.assigned`, `handoff.accepted`, `handoff.rejected`, `handoff.breached`, …), written in
 * the transaction of the change that causes them.
 */

export interface HandoffRow {
  id: string;
  lead_id: string;
  kind: "mql" | "re-mql";
  hand_raiser: boolean;
  mql_at: number;
  status: string;
  owner_id: string | null;
  owner_email: string | null;
  team: string;
  rule: string;
  routing: unknown;
  routing_version: number | null;
  assigned_at: number;
  sla: unknown;
  due_at: number | null;
  breaches: number;
  last_breach_at: number | null;
  acted_at: number | null;
  reason: string | null;
  disposition: string | null;
  amount: string | null;
  currency: string | null;
  closed_at: number | null;
  merged_into: string | null;
  updated_at: number;
}

export const HANDOFF_SELECT = `select h.*, u.email as owner_email from handoffs h
  left join users u on u.workspace_id = h.workspace_id and u.id = h.owner_id`;

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

export function handoffJson(h: HandoffRow) {
  return {
    id: h.id,
    leadId: h.lead_id,
    kind: h.kind,
    handRaiser: h.hand_raiser,
    status: h.status,
    /** What its owner (or an admin) may do next: POST /api/handoffs/:id/<action>. */
    allowedActions: allowedActions(h.status),
    owner: h.owner_id === null ? null : { id: h.owner_id, email: h.owner_email },
    team: h.team,
    rule: h.rule,
    routing: h.routing,
    routingVersion: h.routing_version,
    mqlAt: iso(h.mql_at),
    assignedAt: iso(h.assigned_at),
    sla: h.sla,
    dueAt: iso(h.due_at),
    breaches: h.breaches,
    lastBreachAt: iso(h.last_breach_at),
    actedAt: iso(h.acted_at),
    reason: h.reason,
    disposition: h.disposition,
    amount: h.amount === null ? null : Number(h.amount),
    currency: h.currency,
    closedAt: iso(h.closed_at),
    mergedInto: h.merged_into,
    updatedAt: iso(h.updated_at),
  };
}

export async function loadHandoff(db: Queryable, ws: string, id: string, lock = false): Promise<HandoffRow> {
  const rows = await db.query<HandoffRow>(
    lock
      ? "select h.*, null as owner_email from handoffs h where h.workspace_id = $1 and h.id = $2 for update"
      : `${HANDOFF_SELECT} where h.workspace_id = $1 and h.id = $2`,
    [ws, id],
  );
  const row = rows[0];
  if (!row) throw new QualifyError("NOT_FOUND", `no handoff ${id}`, [{ path: "id", message: "not found" }]);
  return row;
}

/**
 * An outbox message about a handoff: the handoff as it now is and its lead's summary (stage,
 * scores, grade, owner, and why it qualified). The key makes a retried transaction write it once.
 */
export async function handoffMessage(
  tx: Queryable,
  ws: string,
  handoffId: string,
  topic: string,
  at: number,
): Promise<OutboxRow> {
  const h = await loadHandoff(tx, ws, handoffId);
  const leads = await tx.query<{
    id: string;
    email: string | null;
    name: string | null;
    stage: string;
    scores: Record<string, number>;
    grade: string | null;
    owner: string | null;
    mql_at: number | null;
  }>(
    "select id, email, name, stage, scores, grade, owner, mql_at from leads where workspace_id = $1 and id = $2",
    [ws, h.lead_id],
  );
  const why = await tx.query<{ rules: string[]; reason: string }>(
    `select rules, reason from transitions where workspace_id = $1 and lead_id = $2 and to_stage = 'mql'
     order by seq desc limit 1`,
    [ws, h.lead_id],
  );
  const lead = leads[0];
  return {
    topic,
    leadId: h.lead_id,
    key: `${topic}:${handoffId}:${at}`,
    payload: {
      at: new Date(at).toISOString(),
      handoff: handoffJson(h),
      lead: lead
        ? {
            id: lead.id,
            email: lead.email,
            name: lead.name,
            stage: lead.stage,
            scores: lead.scores,
            grade: lead.grade,
            owner: h.owner_email,
            qualifiedBy: why[0] ? { rules: why[0].rules, reason: why[0].reason } : null,
          }
        : null,
    },
  };
}
