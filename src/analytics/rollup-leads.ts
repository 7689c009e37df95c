import type { Queryable } from "../db/database.js";
import { arrayColumns, arrayLiteral, insertRows } from "../db/insert-rows.js";
import type { AnalyticsConfig } from "./analytics-config.js";
import { ATTRIBUTION_MODELS, MODEL_COLUMN, outcomeCredits } from "./attribution.js";
import {
  type LeadRollup,
  NOTHING_ROLLED,
  type RolledLead,
  rollLead,
  type StoredTouch,
  unchangedSessions,
} from "./roll-lead.js";
import type { Touchpoint } from "./sessionize.js";
import { changedLeads, deleteLeads, upsertChanged } from "./write-changed.js";

/**
 * Brings the rollup rows of some leads up to date (src/analytics/rollup.ts says when). Each lead's
 * sessions continue from its stored touchpoints with its events in the step's stretch (`rollLead`);
 * a lead a merge touched, or with an event older than its stored sessions, is redone from its whole
 * history up to the stretch's end. Its stage stays, funnel row, paths and credits are rewritten
 * from its transitions and sessions. A lead merged away or erased loses its rows.
 */

/** What a rollup step covers: events with seq in (from, upTo], and the leads merges touched there. */
export interface Stretch {
  from: number;
  upTo: number;
  merged: ReadonlySet<string>;
}

export async function rollupLeads(
  tx: Queryable,
  ws: string,
  ids: readonly string[],
  config: AnalyticsConfig,
  stretch: Stretch,
): Promise<void> {
  const list = arrayLiteral(ids, "text");
  // The leads still there (not merged away or erased), by their primary key: a join with `leads`
  // here made the planner scan all of it for every chunk.
  const alive = await tx.query<{ id: string; event_count: number | string }>(
    "select id, event_count from leads where workspace_id = $1 and id = any($2::text[]) and merged_into is null",
    [ws, list],
  );
  const liveIds = alive.map((r) => r.id);
  const calls = new Map(alive.map((r) => [r.id, Number(r.event_count)]));
  const live = arrayLiteral(liveIds, "text");
  const stored = await storedRollups(tx, ws, live);
  const milestones = await funnelMilestones(tx, ws, live);
  const byLead = new Map(milestones.map((m) => [m.lead_id, m]));
  const ends = (id: string) => {
    const m = byLead.get(id);
    return { mqlAt: m ? ms(m.mql_at) : null, customerAt: m ? ms(m.customer_at) : null };
  };

  const rolled = new Map<string, LeadRollup>();
  const continuing = liveIds.filter((id) => !stretch.merged.has(id));
  const fresh = await touchEvents(tx, ws, continuing, stretch.from, stretch.upTo);
  for (const id of continuing) {
    const before = stored.get(id) ?? NOTHING_ROLLED;
    const news = fresh.get(id) ?? [];
    // Only when the stored sessions and the new calls are all the calls the lead has processed: an
    // ingest that committed after a step had passed its seq left a call behind the watermark, and a
    // call processed past the stretch makes the lead wait for the whole-history read too.
    const counted = before.sessions.reduce((n, tp) => n + tp.events, 0) + news.length;
    const r = counted === calls.get(id) ? rollLead(before, news, ends(id), config) : null;
    if (r) rolled.set(id, r);
  }
  const whole = liveIds.filter((id) => !rolled.has(id));
  const histories = await touchEvents(tx, ws, whole, 0, stretch.upTo);
  for (const id of whole)
    rolled.set(id, rollLead(NOTHING_ROLLED, histories.get(id) ?? [], ends(id), config) as LeadRollup);

  await saveTouchpoints(tx, ws, ids, stored, rolled);
  // Transitions of a live lead are only ever added (an erasure deletes the lead), so its stays,
  // funnel row and paths are only inserted or changed; a lead gone loses them.
  const gone = ids.filter((id) => !calls.has(id));
  for (const table of ["stage_stays", "lead_funnel", "lead_paths"]) await deleteLeads(tx, table, ws, gone);
  await upsertChanged(
    tx,
    "stage_stays",
    ["workspace_id", "lead_id", "seq"],
    ["workspace_id", "lead_id", "seq", "stage", "entered_at", "left_at"],
    `select t.workspace_id, t.lead_id, t.seq, t.to_stage, t.at, lead(t.at) over (partition by t.lead_id order by t.seq)
     from transitions t where t.workspace_id = $1 and t.lead_id = any($2::text[])`,
    [ws, live],
  );
  await saveFunnel(tx, ws, live, rolled);
  await upsertChanged(
    tx,
    "lead_paths",
    ["workspace_id", "lead_id"],
    ["workspace_id", "lead_id", "lead_at", "mql_at", "customer_at", "path_to_mql", "path_to_won"],
    `select $1::text, p.lead_id, p.lead_at, p.mql_at, p.customer_at, p.mql::text[], p.won::text[]
     from unnest($2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::text[])
       as p(lead_id, lead_at, mql_at, customer_at, mql, won)`,
    [
      ws,
      ...arrayColumns(liveIds, [
        [(id) => id, "text"],
        [(id) => ms(byLead.get(id)?.lead_at ?? null), "bigint"],
        [(id) => ends(id).mqlAt, "bigint"],
        [(id) => ends(id).customerAt, "bigint"],
        [(id) => arrayLiteral(rolled.get(id)?.toMql ?? [], "text"), "text"],
        [(id) => arrayLiteral(rolled.get(id)?.toWon ?? [], "text"), "text"],
      ]),
    ],
  );
  await saveCredits(tx, ws, ids, milestones, rolled);
}

/** Each lead's stored sessions and paths. */
async function storedRollups(tx: Queryable, ws: string, live: string): Promise<Map<string, RolledLead>> {
  const out = new Map<string, { sessions: Touchpoint[]; paths?: RolledLead["paths"] }>();
  const get = (id: string) => {
    const r = out.get(id) ?? { sessions: [] };
    out.set(id, r);
    return r;
  };
  const tps = await tx.query<{
    lead_id: string;
    idx: number;
    start_at: number | string;
    end_at: number | string;
    channel: string;
    source: string | null;
    medium: string | null;
    campaign: string | null;
    events: number;
    types: string[];
    classified: boolean;
  }>(
    `select lead_id, idx, start_at, end_at, channel, source, medium, campaign, events, types, classified
     from touchpoints where workspace_id = $1 and lead_id = any($2::text[]) order by lead_id, idx`,
    [ws, live],
  );
  for (const t of tps)
    get(t.lead_id).sessions.push({
      index: t.idx,
      startAt: Number(t.start_at),
      endAt: Number(t.end_at),
      channel: t.channel,
      source: t.source,
      medium: t.medium,
      campaign: t.campaign,
      events: t.events,
      types: t.types,
      classified: t.classified,
    });
  const paths = await tx.query<{
    lead_id: string;
    mql_at: number | string | null;
    customer_at: number | string | null;
    path_to_mql: string[];
    path_to_won: string[];
  }>(
    `select lead_id, mql_at, customer_at, path_to_mql, path_to_won from lead_paths
     where workspace_id = $1 and lead_id = any($2::text[])`,
    [ws, live],
  );
  for (const p of paths)
    get(p.lead_id).paths = {
      mqlAt: ms(p.mql_at),
      customerAt: ms(p.customer_at),
      toMql: p.path_to_mql,
      toWon: p.path_to_won,
    };
  return out;
}

/**
 * These leads' calls (kind `event`) with seq in (from, upTo], by lead: all processed, as `upTo` is
 * below the oldest event that is not (saying so again made the planner take the partial index of
 * processed events when its statistics predate the processing, and read the whole workspace).
 */
async function touchEvents(
  tx: Queryable,
  ws: string,
  ids: readonly string[],
  from: number,
  upTo: number,
): Promise<Map<string, StoredTouch[]>> {
  const byLead = new Map<string, StoredTouch[]>();
  if (ids.length === 0) return byLead;
  const rows = await tx.query<{ lead_id: string; id: string; at: number | string; input: StoredTouch }>(
    `select lead_id, message_id as id, at, input from events
     where workspace_id = $1 and lead_id = any($2::text[]) and seq > $3 and seq <= $4 and kind = 'event'`,
    [ws, arrayLiteral(ids, "text"), from, upTo],
  );
  for (const r of rows) {
    const list = byLead.get(r.lead_id) ?? [];
    list.push({ ...r.input, at: Number(r.at), id: r.id });
    byLead.set(r.lead_id, list);
  }
  return byLead;
}

/** Rewrites each lead's touchpoints from its first changed one on (all of them, for a lead gone). */
async function saveTouchpoints(
  tx: Queryable,
  ws: string,
  ids: readonly string[],
  stored: ReadonlyMap<string, RolledLead>,
  rolled: ReadonlyMap<string, LeadRollup>,
): Promise<void> {
  const keep = ids.map((id) => {
    const next = rolled.get(id)?.sessions ?? [];
    return { id, from: unchangedSessions(stored.get(id)?.sessions ?? [], next), next };
  });
  await tx.query(
    `delete from touchpoints t using unnest($2::text[], $3::int[]) as k(lead_id, idx)
     where t.workspace_id = $1 and t.lead_id = k.lead_id and t.idx >= k.idx`,
    [
      ws,
      ...arrayColumns(keep, [
        [(k) => k.id, "text"],
        [(k) => k.from, "integer"],
      ]),
    ],
  );
  const rows: unknown[][] = [];
  for (const k of keep)
    for (const tp of k.next.slice(k.from))
      rows.push([
        ws,
        k.id,
        tp.index,
        tp.startAt,
        tp.endAt,
        tp.channel,
        tp.source,
        tp.medium,
        tp.campaign,
        tp.events,
        arrayLiteral(tp.types, "text"),
        tp.classified,
      ]);
  await insertRows(tx, "touchpoints", TOUCHPOINT_COLUMNS, rows);
}

const TOUCHPOINT_COLUMNS = [
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
  "classified",
];

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
 * The leads' milestones from their transitions: a stage reached counts as reaching every funnel
 * stage before it. Read before the rows are written, so that each row is written once in a step
 * (an update per row left half of lead_funnel dead after a rebuild).
 */
function funnelMilestones(tx: Queryable, ws: string, live: string): Promise<FunnelRow[]> {
  return tx.query<FunnelRow>(
    `select t.lead_id, ${FUNNEL_MILESTONES.map(([col, stages]) => `${reached(stages)} as ${col}`).join(", ")},
       (select x.amount from handoffs x where x.workspace_id = $1 and x.lead_id = t.lead_id
          and x.status = 'won' order by x.closed_at desc nulls last limit 1)::text as amount
     from transitions t where t.workspace_id = $1 and t.lead_id = any($2::text[])
     group by t.lead_id`,
    [ws, live],
  );
}

const FUNNEL_COLUMNS = [
  "workspace_id",
  "lead_id",
  "first_seen_at",
  "first_touch_at",
  "first_channel",
  "first_source",
  "first_campaign",
  ...FUNNEL_MILESTONES.map(([col]) => col),
  "disqualified_at",
  "mqls",
  "recycles",
  "stage",
  "grade",
];

async function saveFunnel(
  tx: Queryable,
  ws: string,
  live: string,
  rolled: ReadonlyMap<string, LeadRollup>,
): Promise<void> {
  const firsts = [...rolled].flatMap(([lead, r]) => (r.sessions[0] ? [{ lead, tp: r.sessions[0] }] : []));
  // The first touch comes from the sessions just computed (joining the fresh touchpoints made the
  // planner guess badly).
  await upsertChanged(
    tx,
    "lead_funnel",
    ["workspace_id", "lead_id"],
    FUNNEL_COLUMNS,
    `select l.workspace_id, l.id, l.first_seen_at, tp.start_at, tp.channel, tp.source, tp.campaign,
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
      live,
      ...arrayColumns(firsts, [
        [(f) => f.lead, "text"],
        [(f) => f.tp.startAt, "bigint"],
        [(f) => f.tp.channel, "text"],
        [(f) => f.tp.source, "text"],
        [(f) => f.tp.campaign, "text"],
      ]),
    ],
  );
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

/**
 * Each lead's attribution credits: per outcome, model and channel, source and campaign of its
 * touches. The rows have no key of their own, so a lead's rows are compared with those stored and
 * replaced only when they differ (a lead gone has none).
 */
async function saveCredits(
  tx: Queryable,
  ws: string,
  ids: readonly string[],
  milestones: readonly FunnelRow[],
  rolled: ReadonlyMap<string, LeadRollup>,
): Promise<void> {
  const wanted = new Map<string, unknown[][]>();
  for (const m of milestones) {
    const credits = outcomeCredits(rolled.get(m.lead_id)?.sessions ?? [], {
      lead: ms(m.lead_at),
      mql: ms(m.mql_at),
      sql: ms(m.sql_at),
      opportunity: ms(m.opportunity_at),
      won: ms(m.customer_at),
    });
    wanted.set(
      m.lead_id,
      credits.map((c) => [
        c.outcome,
        c.at,
        c.channel,
        c.source,
        c.campaign,
        ...ATTRIBUTION_MODELS.map((k) => c.credits[k]),
        c.outcome === "won" ? m.amount : null,
      ]),
    );
  }
  const stored = await tx.query<Record<string, unknown> & { lead_id: string }>(
    `select lead_id, ${CREDIT_COLUMNS.slice(2, -1).join(", ")}, amount::text as amount from attribution_credits
     where workspace_id = $1 and lead_id = any($2::text[])`,
    [ws, arrayLiteral(ids, "text")],
  );
  // As the rows are written: bigints and doubles as numbers, the amount as text.
  const canon = (row: readonly unknown[]) =>
    JSON.stringify(row.map((v, i) => (i === 1 || (i > 4 && i < row.length - 1) ? Number(v) : v)));
  const changed = changedLeads(
    ids,
    new Map([...wanted].map(([id, rows]) => [id, rows.map(canon)])),
    stored.map((r) => [r.lead_id, canon(CREDIT_COLUMNS.slice(2).map((c) => r[c]))] as const),
  );
  await deleteLeads(tx, "attribution_credits", ws, changed);
  const rows = changed.flatMap((id) => (wanted.get(id) ?? []).map((r) => [ws, id, ...r]));
  await insertRows(tx, "attribution_credits", CREDIT_COLUMNS, rows);
}
