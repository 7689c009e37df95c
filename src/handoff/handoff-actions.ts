import { randomUUID } from "node:crypto";
import type { Database, Queryable } from "../db/database.js";
import { writeOutbox } from "../db/outbox.js";
import type { Fact, FactInput } from "../engine/index.js";
import { QualifyError } from "../errors.js";
import { cancelJob } from "../scheduler/schedule-job.js";
import { SLA_JOB, slaDue } from "./assign-handoff.js";
import type { Sla } from "./business-calendar.js";
import { recordHistory } from "./handoff-history.js";
import { type HandoffRow, handoffJson, handoffMessage, loadHandoff } from "./handoff-messages.js";
import { ACTION_NAMES, ACTIONS, type Action } from "./handoff-statuses.js";
import { activeRouting } from "./routing-store.js";
import { reassign } from "./sla-breach.js";

/**
 * What sales does with a handoff: accept, reject with a reason, convert, open an opportunity, win
 * or lose it; and an admin's reassignment. Each action checks the handoff's status (a move that
 * does not fit is a 409 and changes nothing), records the step, queues its notification, and
 * stores the matching stage fact for the engine, all in one transaction; the caller then waits
 * for the engine's answer (`seq`).
 */

export { ACTION_NAMES, ACTIONS, type Action };

const CLOSED = new Set(["won", "lost", "rejected", "merged"]);

/** The stage fact an action feeds the engine. A rejection recycles or disqualifies, by its reason. */
function factOf(action: Action, disposition: "recycle" | "disqualify" | null): Fact {
  switch (action) {
    case "accept":
      return "accepted";
    case "reject":
      return disposition === "disqualify" ? "disqualified" : "rejected";
    case "convert":
      return "converted";
    default:
      return action;
  }
}

export interface Actor {
  /** `sales` for a user acting through the API, `crm` for inbound CRM updates. */
  actor: "sales" | "crm" | "admin";
  user: { id: string; email: string; role: string } | null;
}

export interface ActionBody {
  reason?: string;
  amount?: number;
  currency?: string;
  at?: number;
}

export interface ActionResult {
  handoff: ReturnType<typeof handoffJson> | null;
  /** The stage fact's event, for the caller to wait on; null when no fact was stored. */
  seq: number | null;
}

/** A sales user acts on their own handoffs only; admins (and the CRM) on any. */
function checkMayAct(h: HandoffRow, who: Actor): void {
  if (who.actor === "crm" || who.user?.role === "admin") return;
  if (who.user?.role === "sales" && who.user.id === h.owner_id) return;
  throw new QualifyError(
    "FORBIDDEN",
    who.user?.role === "sales"
      ? `handoff ${h.id} is not yours`
      : "only its owner (or an admin) may act on a handoff",
  );
}

export async function insertFact(
  tx: Queryable,
  ws: string,
  leadId: string,
  input: FactInput,
  now: number,
): Promise<number> {
  const rows = await tx.query<{ seq: number }>(
    `insert into events (workspace_id, message_id, kind, lead_id, at, received_at, input, notify)
     values ($1, $2, 'fact', $3, $4, $5, $6, true) returning seq`,
    [ws, input.id, leadId, input.at, now, JSON.stringify(input)],
  );
  return Number(rows[0]?.seq);
}

export async function actOnHandoff(
  db: Database,
  ws: string,
  /** Null for a CRM update about a lead without an open handoff: only the stage fact is stored. */
  handoffId: string | null,
  action: Action,
  who: Actor,
  body: ActionBody,
  now: number,
  leadId?: string,
): Promise<ActionResult> {
  const at = body.at ?? now;
  const fact = (lead: string, disposition: "recycle" | "disqualify" | null, tx: Queryable) =>
    insertFact(
      tx,
      ws,
      lead,
      {
        kind: "fact",
        id: `fact:${randomUUID()}`,
        at,
        fact: factOf(action, disposition),
        actor: who.actor === "crm" ? "crm" : "user",
        ...(who.user ? { by: who.user.email } : {}),
        ...(body.reason === undefined ? {} : { reason: body.reason }),
      },
      now,
    );
  if (handoffId === null) {
    const seq = await db.transaction(async (tx) => {
      if (action === "won") await markCustomer(tx, ws, leadId as string);
      return fact(leadId as string, null, tx);
    });
    await db.sync();
    return { handoff: null, seq };
  }
  const rule = ACTIONS[action];
  const seq = await db.transaction(async (tx) => {
    const h = await loadHandoff(tx, ws, handoffId, true);
    checkMayAct(h, who);
    if (!(rule.from as readonly string[]).includes(h.status))
      throw new QualifyError("CONFLICT", `cannot ${action} a handoff that is ${h.status}`, [
        { path: "status", message: `${action} needs status ${rule.from.join(" or ")}; it is ${h.status}` },
      ]);
    const disposition = action === "reject" ? await dispositionOf(tx, ws, body.reason) : null;
    await tx.query(
      `update handoffs set status = $3, updated_at = $4, acted_at = coalesce(acted_at, $4),
         reason = coalesce($5, reason), disposition = coalesce($6, disposition),
         amount = coalesce($7, amount), currency = coalesce($8, currency),
         closed_at = case when $9 then $4 else closed_at end
       where workspace_id = $1 and id = $2`,
      [
        ws,
        handoffId,
        rule.to,
        at,
        body.reason ?? null,
        disposition,
        body.amount ?? null,
        body.currency ?? null,
        CLOSED.has(rule.to),
      ],
    );
    await recordHistory(tx, ws, {
      handoffId,
      at,
      action,
      from: h.status,
      to: rule.to,
      ownerId: h.owner_id,
      actor: who.actor,
      by: who.user?.email ?? null,
      detail: { reason: body.reason, disposition, amount: body.amount, currency: body.currency },
    });
    await cancelJob(tx, ws, SLA_JOB, `sla:${handoffId}`);
    if (action === "won") await markCustomer(tx, ws, h.lead_id);
    await writeOutbox(tx, ws, [await handoffMessage(tx, ws, handoffId, rule.topic, at)]);
    return fact(h.lead_id, disposition, tx);
  });
  await db.sync();
  return { handoff: handoffJson(await loadHandoff(db, ws, handoffId)), seq };
}

/** What a rejection's reason does to the lead, from the active routing's list. */
async function dispositionOf(tx: Queryable, ws: string, reason: string | undefined) {
  const reasons = (await activeRouting(tx, ws))?.routing.rejectionReasons ?? {};
  const known = reason === undefined ? undefined : reasons[reason];
  if (!known)
    throw new QualifyError("INPUT_INVALID", "a rejection needs one of the configured reasons", [
      {
        path: "reason",
        message: `expected one of ${Object.keys(reasons)
          .map((r) => `'${r}'`)
          .join(", ")}`,
      },
    ]);
  return known;
}

/** A won deal makes the lead's account a customer: its later leads go to the account owner. */
async function markCustomer(tx: Queryable, ws: string, leadId: string): Promise<void> {
  await tx.query(
    `update accounts set customer = true, updated_at = now() where workspace_id = $1
       and id = (select account_id from leads where workspace_id = $1 and id = $2)`,
    [ws, leadId],
  );
}

/** An admin (or the owner) gives the handoff to someone else; a pending one's SLA clock restarts. */
export async function reassignHandoff(
  db: Database,
  ws: string,
  handoffId: string,
  toUser: { id: string; email: string; role: string },
  who: Actor,
  now: number,
): Promise<ReturnType<typeof handoffJson>> {
  await db.transaction(async (tx) => {
    const h = await loadHandoff(tx, ws, handoffId, true);
    checkMayAct(h, who);
    if (CLOSED.has(h.status))
      throw new QualifyError("CONFLICT", `cannot reassign a handoff that is ${h.status}`, [
        { path: "status", message: `it is ${h.status}` },
      ]);
    if (toUser.role !== "sales")
      throw new QualifyError("INPUT_INVALID", `${toUser.email} is not a sales user`, [
        { path: "owner", message: "must be a sales user" },
      ]);
    const team = (await activeRouting(tx, ws))?.routing.teams.get(h.team);
    const due = h.status === "pending" && team ? slaDue(team, h.sla as Sla | null, now) : h.due_at;
    await reassign(tx, ws, handoffId, {
      ownerId: toUser.id,
      due,
      now,
      actor: who.actor,
      by: who.user?.email ?? null,
      detail: { from: h.owner_id, to: toUser.email },
    });
    await writeOutbox(tx, ws, [await handoffMessage(tx, ws, handoffId, "handoff.assigned", now)]);
  });
  return handoffJson(await loadHandoff(db, ws, handoffId));
}
