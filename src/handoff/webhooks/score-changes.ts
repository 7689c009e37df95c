import type { Queryable } from "../../db/database.js";
import type { OutboxRow } from "../../db/outbox.js";
import { SCORE_CHANGED } from "./subscriptions.js";

/**
 * `lead.score_changed`, written by live processing only while some active subscription of the
 * workspace wants it: a batch compares each lead it changed before and after, and writes one
 * message per lead whose scores moved by at least the smallest `minScoreDelta` of those
 * subscriptions (each subscription's own threshold is applied at fan-out). Whether anyone wants it
 * is cached for a few seconds per database, so a batch usually asks nothing.
 */

const CACHE_MS = 5_000;

interface Watch {
  /** Until when (performance.now()) the answer holds. */
  until: number;
  /** The smallest minimum delta wanted; null when nobody subscribes. */
  min: number | null;
}

const cache = new WeakMap<object, Map<string, Watch>>();

/** After a subscription changed in this process: the next batch asks again. */
export function forgetScoreWatch(db: object, ws: string): void {
  cache.get(db)?.delete(ws);
}

async function threshold(db: object, tx: Queryable, ws: string): Promise<number | null> {
  let byWs = cache.get(db);
  if (!byWs) {
    byWs = new Map();
    cache.set(db, byWs);
  }
  const hit = byWs.get(ws);
  const now = performance.now();
  if (hit && hit.until > now) return hit.min;
  const rows = await tx.query<{ n: number; min: string | number | null }>(
    `select count(*)::int as n, min(coalesce(min_score_delta, 0)) as min from webhook_subscriptions
     where workspace_id = $1 and active and $2 = any(events)`,
    [ws, SCORE_CHANGED],
  );
  const r = rows[0];
  const min = r && r.n > 0 ? Number(r.min ?? 0) : null;
  byWs.set(ws, { until: now + CACHE_MS, min });
  return min;
}

interface Lead {
  id: string;
  scores: Record<string, number>;
  grade: string | null;
  scoresAsOf: number | null;
  mergedInto: string | null;
}

/** The change of each score group from `before` to `after` (a group missing on one side is 0). */
export function scoreDelta(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const g of new Set([...Object.keys(before), ...Object.keys(after)]))
    out[g] = Math.round(((after[g] ?? 0) - (before[g] ?? 0)) * 100) / 100;
  return out;
}

/** The largest change, in absolute value, of `group` (or of any group). */
export function largestChange(delta: Record<string, number>, group: string | null): number {
  if (group !== null) return Math.abs(delta[group] ?? 0);
  return Math.max(0, ...Object.values(delta).map(Math.abs));
}

export class ScoreChanges {
  private readonly before = new Map<string, Record<string, number>>();

  constructor(private readonly min: number) {}

  /** The lead's stored scores, before the batch refreshes them. */
  remember(lead: Lead): void {
    if (!this.before.has(lead.id)) this.before.set(lead.id, lead.scores);
  }

  /**
   * The messages for leads whose scores moved enough, keyed by the last event of the lead that the
   * batch processed (so a batch run again writes the same keys).
   */
  messages(
    leads: Iterable<{ lead: Lead }>,
    processed: readonly { seq: number; leadId: string }[],
  ): OutboxRow[] {
    const lastSeq = new Map<string, number>();
    for (const p of processed) lastSeq.set(p.leadId, Math.max(lastSeq.get(p.leadId) ?? 0, p.seq));
    const out: OutboxRow[] = [];
    for (const { lead } of leads) {
      const before = this.before.get(lead.id);
      if (!before || lead.mergedInto !== null || lead.scoresAsOf === null) continue;
      const delta = scoreDelta(before, lead.scores);
      const largest = largestChange(delta, null);
      if (largest === 0 || largest < this.min) continue;
      const at = lead.scoresAsOf;
      out.push({
        topic: SCORE_CHANGED,
        leadId: lead.id,
        key: `score:${lead.id}:${lastSeq.get(lead.id) ?? `t${at}`}`,
        payload: {
          leadId: lead.id,
          at: new Date(at).toISOString(),
          previous: before,
          scores: lead.scores,
          delta,
          grade: lead.grade,
        },
      });
    }
    return out;
  }
}

/**
 * For a pipeline batch: a collector of score changes when the workspace has an active subscription
 * to `lead.score_changed`, else null (and the batch does nothing more).
 */
export async function watchScoreChanges(db: object, tx: Queryable, ws: string): Promise<ScoreChanges | null> {
  const min = await threshold(db, tx, ws);
  return min === null ? null : new ScoreChanges(min);
}
