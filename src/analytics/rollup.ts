import { setTimeout as sleep } from "node:timers/promises";
import type { Database, Queryable } from "../db/database.js";
import { readState, writeState } from "../db/service-state.js";
import { QUIET_MS, type SeqPoint, seqPoint, settledPoint, writesNoEvents } from "../db/settled-events.js";
import { type AnalyticsConfig, parseAnalyticsConfig } from "./analytics-config.js";
import { rollupLeads } from "./rollup-leads.js";

/**
 * Keeps the analytics rollups (`touchpoints`, `lead_funnel`, `stage_stays`: migration 010;
 * `attribution_credits`: 011; `lead_paths`: 012) current. Each step, in the caller's transaction,
 * takes the next stretch of processed events (of every kind: calls, account changes, stage facts)
 * past its watermark, up to the oldest event not yet processed and no further than the log has
 * settled (`settled-events.ts`: an event whose transaction is still in flight has a seq but is not
 * visible yet), so that none is skipped however commits interleave. What the pipeline writes
 * while processing an event commits with it: the event's transitions, for its lead, and a merge
 * the event caused (`lead_merges.event_seq`). So the stretch names every lead with new
 * transitions, and every merge, exactly once.
 *
 * The rows are always those a rebuild from the events up to the watermark would give
 * (`test/pipeline/randomized-live.test.ts`): the leads the stretch touches are brought up to
 * date by `rollupLeads`, most from their stored sessions and their new events only. A step reads
 * at most `maxFacts` events and does leads in chunks, so memory stays bounded whatever the
 * history. The watermark row is locked for the step, so two rollups of one workspace never overlap.
 */

const STATE_KEY = "analytics.rollup";
/** The rollup tables, each keyed by workspace and lead. */
export const ROLLUP_TABLES = [
  "touchpoints",
  "lead_funnel",
  "lead_paths",
  "stage_stays",
  "attribution_credits",
];
const CONFIG_KEY = "analytics";
/**
 * Leads brought up to date together. Small, so that the JavaScript between two statements (rolling
 * 200 leads' sessions, credits) holds the event loop that live processing shares for milliseconds.
 */
const LEAD_CHUNK = 200;

export interface RollupStep {
  /** Leads whose rows were redone. */
  leads: number;
  /** More facts wait past this step's stretch. */
  more: boolean;
}

export async function loadAnalyticsConfig(q: Queryable, ws: string): Promise<AnalyticsConfig> {
  return parseAnalyticsConfig(await storedAnalyticsConfig(q, ws));
}

/** The configuration as stored (what was saved; fields left out take the defaults). */
export async function storedAnalyticsConfig(q: Queryable, ws: string): Promise<unknown> {
  return (await readState(q, ws, CONFIG_KEY)) ?? {};
}

/**
 * Saves a new configuration (refused with every bad field before anything changes) and empties
 * the rollups, which the next rollup step or report rebuilds under it.
 */
export async function saveAnalyticsConfig(tx: Queryable, ws: string, raw: unknown): Promise<AnalyticsConfig> {
  const config = parseAnalyticsConfig(raw);
  await writeState(tx, ws, CONFIG_KEY, raw ?? {});
  await lockWatermark(tx, ws);
  for (const table of ROLLUP_TABLES) await tx.query(`delete from ${table} where workspace_id = $1`, [ws]);
  await writeState(tx, ws, STATE_KEY, { events: 0 });
  return config;
}

interface Watermark {
  /** The seq of the last event the rollups include. */
  events: number;
  /** Later points of the event log not yet settled (`settled-events.ts`), oldest first. */
  waiting?: SeqPoint[];
}

/** The rollups' watermark, locked for this transaction. */
async function lockWatermark(tx: Queryable, ws: string): Promise<Watermark> {
  await tx.query(
    `insert into service_state (workspace_id, key, value) values ($1, $2, $3::jsonb)
     on conflict (workspace_id, key) do nothing`,
    [ws, STATE_KEY, JSON.stringify({ events: 0 })],
  );
  const rows = await tx.query<{ value: Watermark }>(
    "select value from service_state where workspace_id = $1 and key = $2 for update",
    [ws, STATE_KEY],
  );
  const value = rows[0]?.value;
  return { events: Number(value?.events ?? 0), waiting: value?.waiting ?? [] };
}

/**
 * How far this step may go: up to the newest settled point of the event log (no event at or below
 * it is still in flight, so none can commit behind the watermark later), and below the oldest event
 * not yet processed. `point` was taken, and waited for, before the watermark was locked; a step
 * that ran meanwhile may have left newer points waiting.
 */
async function stretchEnd(tx: Queryable, ws: string, mark: Watermark, point: SeqPoint) {
  const points = [...(mark.waiting ?? []), point]
    .filter((p) => p.seq > mark.events)
    .sort((a, b) => a.seq - b.seq || a.at - b.at);
  const { settled, waiting } = await settledPoint(tx, points, 0);
  const [oldest] = await tx.query<{ seq: number | null }>(
    "select min(seq) as seq from events where workspace_id = $1 and not processed",
    [ws],
  );
  return { settled: settled?.seq ?? mark.events, unprocessed: oldest?.seq ?? null, waiting };
}

export interface RollupOptions {
  /** The most events a step takes in. */
  maxFacts?: number;
  /**
   * How long a step waits for the newest point of the log to settle (`settled-events.ts`: a little
   * more than `QUIET_MS`, so that a read-only transaction running meanwhile does not hold it back).
   */
  settleMs?: number;
  /**
   * Pause after each chunk of leads (`LEAD_CHUNK`) as long as it took: the background job's steps
   * take at most about half of what they share with live processing at any moment, in slices of
   * tens of milliseconds, instead of all of it for seconds (a report's catch-up is not paced).
   */
  paced?: boolean;
}

export async function rollupStep(
  tx: Queryable,
  ws: string,
  options: RollupOptions = {},
): Promise<RollupStep> {
  const { maxFacts = 50_000, settleMs = QUIET_MS + 500 } = options;
  // Before anything that may wait: another step's point does not wait for this one.
  await writesNoEvents(tx);
  // The wait for the log to settle comes before the watermark's lock, so that steps started
  // together (a dashboard's reports each catch the rollups up) wait side by side, not in turn.
  const point = await seqPoint(tx);
  await settledPoint(tx, [point], settleMs);
  const before = await lockWatermark(tx, ws);
  const from = before.events;
  const config = await loadAnalyticsConfig(tx, ws);
  const end = await stretchEnd(tx, ws, before, point);
  const events = await tx.query<{ seq: number; lead_id: string | null }>(
    `select seq, lead_id from events where workspace_id = $1 and seq > $2 and seq <= $3
       and ($4::bigint is null or seq < $4)
     order by seq limit $5`,
    [ws, from, end.settled, end.unprocessed, maxFacts],
  );
  const upTo = Number(events[events.length - 1]?.seq ?? from);
  const merges = await tx.query<{ from_lead: string; into_lead: string }>(
    "select from_lead, into_lead from lead_merges where workspace_id = $1 and event_seq > $2 and event_seq <= $3",
    [ws, from, upTo],
  );
  const merged = new Set<string>();
  for (const m of merges) merged.add(m.into_lead).add(m.from_lead);
  const dirty = new Set(merged);
  for (const e of events) if (e.lead_id !== null) dirty.add(e.lead_id);
  const leads = [...dirty];
  for (let i = 0; i < leads.length; i += LEAD_CHUNK) {
    const started = performance.now();
    await rollupLeads(tx, ws, leads.slice(i, i + LEAD_CHUNK), config, { from, upTo, merged });
    if (options.paced) await sleep(performance.now() - started);
  }
  const mark: Watermark = { events: upTo, waiting: end.waiting };
  await writeState(tx, ws, STATE_KEY, mark);
  return { leads: leads.length, more: events.length >= maxFacts };
}

/** Runs rollup steps, each its own transaction, until no stored fact is left behind. */
export async function catchUpRollup(db: Database, ws: string): Promise<number> {
  let leads = 0;
  for (;;) {
    const step = await db.transaction((tx) => rollupStep(tx, ws));
    leads += step.leads;
    if (!step.more) return leads;
  }
}
