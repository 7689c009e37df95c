import type { Queryable } from "../db/database.js";
import type { ConditionContext } from "../engine/evaluate-condition.js";
import { type Condition, leavesOf } from "../engine/model/condition.js";
import { toCents } from "../engine/points.js";
import type { Grade, Stage, TraitValue } from "../engine/types.js";

/**
 * A lead as nurture sees it: what segment, exit and branch conditions read (scores, grade, traits,
 * the account, the stage), and where to reach it. Read without locking: the pipeline owns the row.
 */
export interface LeadView {
  id: string;
  userId: string | null;
  email: string | null;
  name: string | null;
  stage: Stage;
  grade: Grade | null;
  /** In points, as stored. */
  scores: Record<string, number>;
  traits: Record<string, unknown>;
  accountId: string | null;
  account: Record<string, unknown>;
  mergedInto: string | null;
  /** Loaded by `withRecentEvents` when a condition counts recent events. */
  recentEvents?: { name: string; at: number }[];
}

interface Row {
  id: string;
  user_id: string | null;
  email: string | null;
  name: string | null;
  stage: Stage;
  grade: Grade | null;
  scores: Record<string, number>;
  traits: Record<string, unknown>;
  account_id: string | null;
  account: Record<string, unknown> | null;
  merged_into: string | null;
}

export async function loadLeadViews(tx: Queryable, ws: string, ids: readonly string[]): Promise<LeadView[]> {
  if (ids.length === 0) return [];
  const rows = await tx.query<Row>(
    `select l.id, l.user_id, l.email, l.name, l.stage, l.grade, l.scores, l.traits, l.account_id,
       a.traits as account, l.merged_into
     from leads l left join accounts a on a.workspace_id = l.workspace_id and a.id = l.account_id
     where l.workspace_id = $1 and l.id = any($2::text[])`,
    [ws, ids],
  );
  return rows.map((r) => ({
    id: r.id,
    userId: r.user_id,
    email: r.email,
    name: r.name,
    stage: r.stage,
    grade: r.grade,
    scores: r.scores ?? {},
    traits: r.traits ?? {},
    accountId: r.account_id,
    account: r.account ?? {},
    mergedInto: r.merged_into,
  }));
}

export async function loadLeadView(tx: Queryable, ws: string, id: string): Promise<LeadView | null> {
  return (await loadLeadViews(tx, ws, [id]))[0] ?? null;
}

/** The longest `within` of the recent-event leaves of these conditions (0: they count none). */
export function eventWindow(conditions: readonly (Condition | undefined)[]): number {
  let max = 0;
  for (const c of conditions)
    if (c) for (const leaf of leavesOf(c)) if (leaf.subject === "event") max = Math.max(max, leaf.withinMs);
  return max;
}

/** Loads the named events of these leads within `windowMs` before `now`, for event conditions. */
export async function withRecentEvents(
  q: Queryable,
  ws: string,
  views: readonly LeadView[],
  windowMs: number,
  now: number,
): Promise<void> {
  if (windowMs <= 0 || views.length === 0) return;
  const rows = await q.query<{ lead_id: string; name: string; at: number }>(
    `select lead_id, coalesce(input->>'event', type || ' ' || coalesce(input->>'name', '')) as name, at from events
     where workspace_id = $1 and lead_id = any($2::text[]) and kind = 'event' and processed and at > $3`,
    [ws, views.map((v) => v.id), now - windowMs],
  );
  const byLead = new Map(views.map((v) => [v.id, v]));
  for (const v of views) v.recentEvents = [];
  for (const r of rows) byLead.get(r.lead_id)?.recentEvents?.push({ name: r.name, at: Number(r.at) });
}

/** What a segment condition evaluates against: the engine's context, scores in cents. */
export function conditionContext(v: LeadView, now?: number): ConditionContext {
  const scores: Record<string, number> = {};
  for (const [group, points] of Object.entries(v.scores))
    if (typeof points === "number") scores[group] = toCents(points);
  return {
    traits: v.traits as Record<string, TraitValue>,
    account: v.account as Record<string, TraitValue>,
    scores,
    ...(v.grade ? { grade: v.grade } : {}),
    stage: v.stage,
    ...(v.recentEvents ? { recentEvents: v.recentEvents } : {}),
    ...(now !== undefined ? { now } : {}),
  };
}
