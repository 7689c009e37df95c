import { type Input, replay, type Stage } from "../engine/index.js";
import { mergeHandoffs } from "../handoff/merge-handoffs.js";
import type { Batch, LeadContext } from "./batch.js";
import { followAccount } from "./link-account.js";
import type { Identities } from "./resolve-identity.js";
import { storeTransitions } from "./store-transitions.js";

/** How far along a stage is, for keeping the most advanced stage when two leads merge. */
const STAGE_RANK: Record<Stage, number> = {
  visitor: 0,
  subscriber: 1,
  lead: 2,
  recycled: 2,
  disqualified: 3,
  mql: 4,
  sal: 5,
  sql: 6,
  opportunity: 7,
  customer: 8,
};

export const stageRank = (s: string) => STAGE_RANK[s as Stage] ?? 0;

/**
 * Merges `from` into `into`, as a recorded fact. Both rows are locked in id order. The merged
 * history is rescored as one: the stage machine continues from the more advanced of the two
 * leads, and the other lead's inputs are checked as they arrive in time order. So the most
 * advanced stage is kept, and a lead already at or past MQL fires no second MQL.
 */
export async function mergeLeads(
  batch: Batch,
  from: LeadContext,
  into: LeadContext,
  cause: Pick<Identities, "at" | "seq" | "notify">,
  reason: string,
): Promise<LeadContext> {
  const { tx, ws } = batch;
  const { at, notify } = cause;
  const stored = [from, into].filter((c) => !c.isNew).map((c) => c.lead.id);
  if (stored.length > 0)
    await tx.query("select id from leads where workspace_id = $1 and id = any($2) order by id for update", [
      ws,
      stored.sort(),
    ]);
  const fromHistory = await batch.history(from);
  const intoHistory = await batch.history(into);
  // The stage the engine holds now: the `stage` column is refreshed only at the end of the batch, so
  // a lead that qualified earlier in this batch still reads as its old stage there (and merging it
  // as the less advanced lead would replay its hand-raise and fire a second MQL).
  const stageOf = (c: LeadContext) => c.lead.state?.l.stage ?? c.lead.stage;
  const fromFirst = stageRank(stageOf(from)) > stageRank(stageOf(into));
  const base = structuredClone(fromFirst ? from.lead.state : into.lead.state);
  if (base === null) throw new Error(`lead ${(fromFirst ? from : into).lead.id} has no state`);
  const known: Input[] = fromFirst ? fromHistory : intoHistory;
  const fresh: Input[] = fromFirst ? intoHistory : fromHistory;
  const r = replay(batch.active.model, base, known, fresh, Math.max(batch.now, at));
  into.lead.state = r.state;
  into.history = [...intoHistory, ...fromHistory];
  storeTransitions(batch, into, r.transitions, notify);

  const a = from.lead;
  const b = into.lead;
  // The survivor's own profile wins; the other fills what it lacks.
  b.traits = { ...a.traits, ...b.traits };
  b.email ??= a.email;
  b.emailDomain ??= a.emailDomain;
  b.name ??= a.name;
  b.userId ??= a.userId;
  // The account is the one the engine now scores by, from both histories (`followAccount`).
  followAccount(b);
  b.owner ??= a.owner;
  b.flags = [...new Set([...b.flags, ...a.flags])];
  b.firstSeenAt = Math.min(a.firstSeenAt, b.firstSeenAt);
  // The survivor was first qualified when either lead was (its stage may come from the other).
  if (a.firstMqlAt !== null) b.firstMqlAt = Math.min(a.firstMqlAt, b.firstMqlAt ?? a.firstMqlAt);
  b.lastEventAt = Math.max(a.lastEventAt ?? 0, b.lastEventAt ?? 0) || null;
  b.eventCount += a.eventCount;
  into.dirty = true;
  a.mergedInto = b.id;
  from.dirty = true;
  from.history = [];
  from.fresh = [];

  // Its processed events only: a pending account input may be locked by a batch of another
  // process (which would wait for this one's identities: a deadlock), and it reaches the survivor
  // anyway when it is processed (`Batch.lead` follows the merge).
  await tx.query("update events set lead_id = $3 where workspace_id = $1 and lead_id = $2 and processed", [
    ws,
    a.id,
    b.id,
  ]);
  await tx.query("update identities set lead_id = $3 where workspace_id = $1 and lead_id = $2", [
    ws,
    a.id,
    b.id,
  ]);
  await mergeHandoffs(tx, ws, a.id, b.id, at);
  batch.rebind(a.id, b.id);
  await tx.query(
    `insert into lead_merges (workspace_id, from_lead, into_lead, at, reason, event_seq)
     values ($1, $2, $3, $4, $5, $6)`,
    [ws, a.id, b.id, at, reason, cause.seq],
  );
  if (notify)
    batch.outbox.push({
      topic: "lead.merged",
      leadId: b.id,
      payload: { from: a.id, into: b.id, at: new Date(at).toISOString(), reason, stage: r.state.l.stage },
      key: `merged:${a.id}:${b.id}`,
    });
  return into;
}
