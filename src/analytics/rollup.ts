import type { Database, Queryable } from "../db/database.js";
import { arrayColumns, arrayLiteral, insertRows } from "../db/insert-rows.js";
import { readState, writeState } from "../db/service-state.js";
import { type AnalyticsConfig, parseAnalyticsConfig } from "./analytics-config.js";
import { ATTRIBUTION_MODELS, MODEL_COLUMN, outcomeCredits } from "./attribution.js";
import type { TouchEvent } from "./classify-channel.js";
import { pathOf, sessionize, type Touchpoint } from "./sessionize.js";

/**
 * Keeps the analytics rollups (`touchpoints`, `lead_funnel`, `stage_stays`: migration 010;
 * `attribution_credits`: 011; `lead_paths`: 012)
 * current. Each step, in the caller's transaction, takes the next stretch of stored facts past its
 * watermarks:
 * - processed events (of every kind: calls, account changes, stage facts), up to the oldest event
 *   not yet processed, so that none is skipped however commits interleave. Every transition is
 *   written by the pipeline in the transaction that marks its event processed, for that event's
 *   lead, so a lead with new transitions is always a lead with newly processed events;
 * - lead merges (the merged-away lead's rows go; the surviving lead is redone);
 * and recomputes every lead they touch from scratch: its sessions from its events (`sessionize`),
 * its funnel milestones and stage stays from its transitions. A step reads at most `maxFacts` of
 * each and redoes leads in chunks, so memory stays bounded whatever the history. The watermark row
 * is locked for the step, so two rollups of one workspace never overlap.
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
const LEAD_CHUNK = 1_000;

interface Watermarks {
  events: number;
  merges: number;
}

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
  await lockWatermarks(tx, ws);
  for (const table of ROLLUP_TABLES) await tx.query(`delete from ${table} where workspace_id = $1`, [ws]);
  await writeState(tx, ws, STATE_KEY, { events: 0, merges: 0 });
  return config;
}

async function lockWatermarks(tx: Queryable, ws: string): Promise<Watermarks> {
  await tx.query(
    `insert into service_state (workspace_id, key, value) values ($1, $2, $3::jsonb)
     on conflict (workspace_id, key) do nothing`,
    [ws, STATE_KEY, JSON.stringify({ events: 0, merges: 0 })],
  );
  const rows = await tx.query<{ value: Watermarks }>(
    "select value from service_state where workspace_id = $1 and key = $2 for update",
    [ws, STATE_KEY],
  );
  const v = rows[0]?.value ?? { events: 0, merges: 0 };
  return { events: Number(v.events), merges: Number(v.merges) };
}

export async function rollupStep(tx: Queryable, ws: string, maxFacts = 50_000): Promise<RollupStep> {
  const w = await lockWatermarks(tx, ws);
  const config = await loadAnalyticsConfig(tx, ws);
  // Events below the oldest unprocessed one are all processed: the stretch stops there.
  const oldest = await tx.query<{ seq: number | null }>(
    "select min(seq) as seq from events where workspace_id = $1 and not processed",
    [ws],
  );
  const bound = oldest[0]?.seq ?? null;
  const events = await tx.query<{ seq: number; lead_id: string | null }>(
    `select seq, lead_id from events where workspace_id = $1 and seq > $2 and ($3::bigint is null or seq < $3)
     order by seq limit $4`,
    [ws, w.events, bound, maxFacts],
  );
  const merges = await tx.query<{ seq: number; from_lead: string; into_lead: string }>(
    "select seq, from_lead, into_lead from lead_merges where workspace_id = $1 and seq > $2 order by seq limit $3",
    [ws, w.merges, maxFacts],
  );
  const dirty = new Set<string>();
  for (const e of events) if (e.lead_id !== null) dirty.add(e.lead_id);
  for (const m of merges) dirty.add(m.into_lead).add(m.from_lead);
  const leads = [...dirty];
  for (let i = 0; i < leads.length; i += LEAD_CHUNK)
    await redo(tx, ws, leads.slice(i, i + LEAD_CHUNK), config);
  const lastEvent = events[events.length - 1];
  const lastMerge = merges[merges.length - 1];
  const next: Watermarks = {
    events: lastEvent ? Number(lastEvent.seq) : w.events,
    merges: lastMerge ? Number(lastMerge.seq) : w.merges,
  };
  await writeState(tx, ws, STATE_KEY, next);
  return {
    leads: leads.length,
    more: events.length >= maxFacts || merges.length >= maxFacts,
  };
}

/** Recomputes these leads' rows; a lead merged away or erased loses them. */
async function redo(
  tx: Queryable,
  ws: string,
  ids: readonly string[],
  config: AnalyticsConfig,
): Promise<void> {
  const list = arrayLiteral(ids, "text");
  await tx.query("delete from touchpoints where workspace_id = $1 and lead_id = any($2::text[])", [ws, list]);
  // The leads still there (not merged away or erased), by their primary key: a join with `leads`
  // here made the planner scan all of it for every chunk.
  const alive = await tx.query<{ id: string }>(
    "select id from leads where workspace_id = $1 and id = any($2::text[]) and merged_into is null",
    [ws, list],
  );
  const live = arrayLiteral(
    alive.map((r) => r.id),
    "text",
  );
  const rows = await tx.query<{ lead_id: string; id: string; at: number; input: TouchEvent }>(
    `select e.lead_id, e.message_id as id, e.at, e.input from events e
     where e.workspace_id = $1 and e.lead_id = any($2::text[]) and e.kind = 'event' and e.processed
     order by e.lead_id, e.at`,
    [ws, live],
  );
  const byLead = new Map<string, (TouchEvent & { id: string })[]>();
  for (const r of rows) {
    const list = byLead.get(r.lead_id) ?? [];
    list.push({ ...r.input, at: Number(r.at), id: r.id });
    byLead.set(r.lead_id, list);
  }
  const out: unknown[][] = [];
  const firsts: { lead: string; tp: Touchpoint }[] = [];
  const sessions = new Map<string, Touchpoint[]>();
  for (const [lead, evs] of byLead) {
    const tps = sessionize(evs, config);
    sessions.set(lead, tps);
    for (const tp of tps) {
      if (tp.index === 0) firsts.push({ lead, tp });
      out.push([
        ws,
        lead,
        tp.index,
        tp.startAt,
        tp.endAt,
        tp.channel,
        tp.source,
        tp.medium,
        tp.campaign,
        tp.events,
        arrayLiteral(tp.types, "text"),
      ]);
    }
  }
  await insertRows(
    tx,
    "touchpoints",
    [
      "workspace_id",
      "lead_id",
      "idx",
      "start_at",
      "end_at",
      "channel",
      "source",
      "medium",
      "campaign",
      "events",
      "types",
    ],
    out,
  );
  await tx.query("delete from stage_stays where workspace_id = $1 and lead_id = any($2::text[])", [ws, list]);
  await tx.query(
    `insert into stage_stays (workspace_id, lead_id, seq, stage, entered_at, left_at)
     select t.workspace_id, t.lead_id, t.seq, t.to_stage, t.at,
       lead(t.at) over (partition by t.lead_id order by t.seq)
     from transitions t
     where t.workspace_id = $1 and t.lead_id = any($2::text[])`,
    [ws, live],
  );
  // Milestones first (a stage reached counts as reaching every funnel stage before it), so that the
  // paths and credits are computed before the rows are written: written once, never updated (an
  // update per row left half of lead_funnel dead after a rebuild).
  const milestones = await tx.query<FunnelRow>(
    `select t.lead_id, ${FUNNEL_MILESTONES.map(([col, stages]) => `${reached(stages)} as ${col}`).join(", ")},
       (select x.amount from handoffs x where x.workspace_id = $1 and x.lead_id = t.lead_id
          and x.status = 'won' order by x.closed_at desc nulls last limit 1)::text as amount
     from transitions t where t.workspace_id = $1 and t.lead_id = any($2::text[])
     group by t.lead_id`,
    [ws, live],
  );
  const paths = leadPaths(
    alive.map((r) => r.id),
    milestones,
    byLead,
    config,
  );
  await tx.query("delete from lead_funnel where workspace_id = $1 and lead_id = any($2::text[])", [ws, list]);
  // The first touch comes from the sessions just computed (joining the fresh touchpoints made the
  // planner guess badly).
  await tx.query(
    `insert into lead_funnel (workspace_id, lead_id, first_seen_at, first_touch_at, first_channel, first_source,
       first_campaign, ${FUNNEL_MILESTONES.map(([col]) => col).join(", ")}, disqualified_at, mqls, recycles,
       stage, grade)
     select l.workspace_id, l.id, l.first_seen_at, tp.start_at, tp.channel, tp.source, tp.campaign,
       ${FUNNEL_MILESTONES.map(([, stages]) => reached(stages)).join(", ")},
       ${reached(["disqualified"])},
       count(*) filter (where t.to_stage = 'mql')::int,
       count(*) filter (where t.to_stage = 'recycled')::int,
       l.stage,
       -- The grade it had when it first became an MQL (stable), else its grade now.
       coalesce((array_agg(t.grade order by t.at) filter (where t.to_stage = 'mql'))[1], l.grade)
     from leads l
     left join unnest($3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[])
       as tp(lead_id, start_at, channel, source, campaign) on tp.lead_id = l.id
     left join transitions t on t.workspace_id = l.workspace_id and t.lead_id = l.id
     where l.workspace_id = $1 and l.id = any($2::text[]) and l.merged_into is null
     group by l.workspace_id, l.id, tp.start_at, tp.channel, tp.source, tp.campaign`,
    [
      ws,
      list,
      ...arrayColumns(firsts, [
        [(f) => f.lead, "text"],
        [(f) => f.tp.startAt, "bigint"],
        [(f) => f.tp.channel, "text"],
        [(f) => f.tp.source, "text"],
        [(f) => f.tp.campaign, "text"],
      ]),
    ],
  );
  await tx.query("delete from lead_paths where workspace_id = $1 and lead_id = any($2::text[])", [ws, list]);
  await tx.query(
    `insert into lead_paths (workspace_id, lead_id, lead_at, mql_at, customer_at, path_to_mql, path_to_won)
     select $1, p.lead_id, p.lead_at, p.mql_at, p.customer_at, p.mql::text[], p.won::text[]
     from unnest($2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::text[])
       as p(lead_id, lead_at, mql_at, customer_at, mql, won)`,
    [
      ws,
      ...arrayColumns(paths, [
        [(r) => r.id, "text"],
        [(r) => (r.m ? ms(r.m.lead_at) : null), "bigint"],
        [(r) => (r.m ? ms(r.m.mql_at) : null), "bigint"],
        [(r) => (r.m ? ms(r.m.customer_at) : null), "bigint"],
        [(r) => r.mql, "text"],
        [(r) => r.won, "text"],
      ]),
    ],
  );
  await tx.query("delete from attribution_credits where workspace_id = $1 and lead_id = any($2::text[])", [
    ws,
    list,
  ]);
  await saveCredits(tx, ws, milestones, sessions);
}

/** Each funnel milestone column and the stages whose first transition reaches it. */
const FUNNEL_MILESTONES: readonly (readonly [string, readonly string[]])[] = [
  ["lead_at", ["lead", "recycled", "mql", "sal", "sql", "opportunity", "customer"]],
  ["mql_at", ["mql", "sal", "sql", "opportunity", "customer"]],
  ["sal_at", ["sal", "sql", "opportunity", "customer"]],
  ["sql_at", ["sql", "opportunity", "customer"]],
  ["opportunity_at", ["opportunity", "customer"]],
  ["customer_at", ["customer"]],
];
const reached = (stages: readonly string[]) =>
  `min(t.at) filter (where t.to_stage in (${stages.map((x) => `'${x}'`).join(", ")}))`;

/** A lead's funnel milestones (epoch ms, as PostgreSQL returns bigints: strings) and its won amount. */
interface FunnelRow {
  lead_id: string;
  lead_at: number | string | null;
  mql_at: number | string | null;
  sal_at: number | string | null;
  sql_at: number | string | null;
  opportunity_at: number | string | null;
  customer_at: number | string | null;
  amount: string | null;
}

const ms = (v: number | string | null) => (v === null ? null : Number(v));

/**
 * Each live lead's paths of touchpoint types: events up to its first MQL (all, if none), up to its
 * win (a lead with no transition: all its events, for both; with no events: empty). Each path is
 * an array literal, one text element per lead.
 */
function leadPaths(
  ids: readonly string[],
  milestones: readonly FunnelRow[],
  byLead: Map<string, (TouchEvent & { id: string })[]>,
  config: AnalyticsConfig,
): { id: string; mql: string; won: string; m: FunnelRow | undefined }[] {
  const path = (evs: readonly TouchEvent[], until: number | null) =>
    arrayLiteral(
      pathOf(
        sessionize(until === null ? evs : evs.filter((e) => e.at <= until), config),
        config.collapseRepeats,
      ),
      "text",
    );
  const at = new Map(milestones.map((m) => [m.lead_id, m]));
  return ids.map((id) => {
    const m = at.get(id);
    const evs = byLead.get(id) ?? [];
    return { id, mql: path(evs, m ? ms(m.mql_at) : null), won: path(evs, m ? ms(m.customer_at) : null), m };
  });
}

const CREDIT_COLUMNS = [
  "workspace_id",
  "lead_id",
  "outcome",
  "at",
  "channel",
  "source",
  "campaign",
  ...ATTRIBUTION_MODELS.map((m) => MODEL_COLUMN[m]),
  "amount",
];

/** Each lead's attribution credits: per outcome, model and channel, source and campaign of its touches. */
async function saveCredits(
  tx: Queryable,
  ws: string,
  milestones: readonly FunnelRow[],
  sessions: Map<string, Touchpoint[]>,
): Promise<void> {
  const rows: unknown[][] = [];
  for (const m of milestones) {
    const credits = outcomeCredits(sessions.get(m.lead_id) ?? [], {
      lead: ms(m.lead_at),
      mql: ms(m.mql_at),
      sql: ms(m.sql_at),
      opportunity: ms(m.opportunity_at),
      won: ms(m.customer_at),
    });
    for (const c of credits)
      rows.push([
        ws,
        m.lead_id,
        c.outcome,
        c.at,
        c.channel,
        c.source,
        c.campaign,
        ...ATTRIBUTION_MODELS.map((k) => c.credits[k]),
        c.outcome === "won" ? m.amount : null,
      ]);
  }
  await insertRows(tx, "attribution_credits", [...CREDIT_COLUMNS], rows);
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
