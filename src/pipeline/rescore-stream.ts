import { analyzeStale } from "../db/analyze-stale.js";
import type { Queryable } from "../db/database.js";
import { SEP } from "../db/insert-rows.js";
import type { Input, LeadState } from "../engine/index.js";
import type { LeadRecord } from "./lead-record.js";
import { accountOf, type LeadAccount } from "./link-account.js";

/**
 * Reading and writing every lead of a workspace in bounded memory, for a rescore (publishing or
 * previewing a model). Leads come in id order, `BATCH` at a time (keyset pages on the primary key),
 * each with its processed inputs in ingest order as one JSON array: one `JSON.parse` per lead, not
 * per event. The next page is already being read by the database while the caller works on the
 * current one. Writes go back in one statement per batch. Plain SQL, the same on PostgreSQL and
 * PGlite, in a transaction or not.
 */

/** Leads per page, and per update statement. */
export const BATCH = 1_000;

/** A lead as a rescore needs it: where its stage machine is, and its processed inputs in ingest order. */
export interface LeadToRescore {
  id: string;
  stage: string;
  /** The stored state's stage machine; null for a lead stored without a state. */
  lifecycle: LeadState["l"] | null;
  /** The stored state's `asOf`, 0 without one. */
  asOf: number;
  lastEventAt: number | null;
  firstSeenAt: number;
  /** The account stored for it (`writeLeads` corrects it when the rebuilt state puts it elsewhere). */
  account: LeadAccount;
  inputs: Input[];
}

interface Row {
  id: string;
  stage: string;
  l: LeadState["l"] | null;
  as_of: number | null;
  last_event_at: number | null;
  first_seen_at: number;
  account_id: string | null;
  account_source: LeadRecord["accountSource"];
  inputs: Input[];
}

/**
 * One page: up to $3 leads after $2 in id order, each with its processed inputs in ingest order. The
 * inputs come from one range scan of `events_processed_by_lead` over the page's ids, grouped per lead:
 * about a third cheaper for the database than a subquery per lead. `input` is the stored input, or
 * the expression that leaves out what the model does not read.
 */
const pageSql = (input: string, cast: string) => `with page as materialized (
    select l.id, l.stage, l.state -> 'l' as l, l.state -> 'asOf' as as_of, l.last_event_at, l.first_seen_at,
      l.account_id, l.account_source
    from leads l
    where l.workspace_id = $1 and l.id > $2 and l.merged_into is null
    order by l.id
    limit $3)
  select page.*, coalesce(g.inputs, '[]')${cast} as inputs
  from page left join (
    select e.lead_id, json_agg(${input} order by e.processed_order) as inputs
    from events e
    where e.workspace_id = $1 and e.lead_id > $2 and e.lead_id <= (select max(id) from page) and e.processed
    group by e.lead_id) g on g.lead_id = page.id
  order by page.id`;
/** The stored input, or the expression that leaves out its `context` (see `streamLeads`). */
const inputSql = (context: boolean) => (context ? "e.input" : "e.input - 'context'");

/** Whether any condition of a model (its spec) reads an event's `context`. */
export function readsContext(spec: unknown): boolean {
  if (Array.isArray(spec)) return spec.some(readsContext);
  if (spec === null || typeof spec !== "object") return false;
  const o = spec as Record<string, unknown>;
  return o.subject === "context" || Object.values(o).some(readsContext);
}

/** Pages of `sql`'s rows ($1 the workspace, $2 the last id of the page before, $3 `BATCH`), read ahead. */
async function* pages<R extends { id: string }>(db: Queryable, ws: string, sql: string): AsyncGenerator<R[]> {
  // The page query's plan needs current statistics (freshly written history has none).
  await analyzeStale(db);
  const page = (after: string) => {
    const p = db.query<R>(sql, [ws, after, BATCH]);
    // Failing while the caller is busy is reported when the caller awaits it, not as unhandled.
    p.catch(() => undefined);
    return p;
  };
  let next: Promise<R[]> | null = page("");
  while (next) {
    const rows: R[] = await next;
    const last = rows[rows.length - 1];
    next = rows.length === BATCH && last ? page(last.id) : null;
    if (rows.length > 0) yield rows;
  }
}

/**
 * Every lead not merged into another, in id order, `BATCH` at a time. Only the parts of the stored
 * state a rescore reads are loaded (the stage machine and `asOf`); and an event's `context`, often
 * most of its size, only for a model that reads it (`readsContext`). Stale planner statistics
 * are refreshed first (`analyzeStale`).
 */
export async function* streamLeads(
  db: Queryable,
  ws: string,
  opts: { context: boolean },
): AsyncGenerator<LeadToRescore[]> {
  for await (const rows of pages<Row>(db, ws, pageSql(inputSql(opts.context), "")))
    yield rows.map((r) => ({
      id: r.id,
      stage: r.stage,
      lifecycle: r.l,
      asOf: r.as_of ?? 0,
      lastEventAt: r.last_event_at,
      firstSeenAt: r.first_seen_at,
      account: { accountId: r.account_id, accountSource: r.account_source },
      inputs: r.inputs,
    }));
}

/**
 * As `streamLeads`, each lead's id and its inputs left as the JSON text of an array, for a reader
 * that parses them elsewhere (a backtest's worker threads).
 */
export async function* streamLeadTexts(
  db: Queryable,
  ws: string,
  opts: { context: boolean },
): AsyncGenerator<{ id: string; inputs: string }[]> {
  yield* pages<{ id: string; inputs: string }>(db, ws, pageSql(inputSql(opts.context), "::text"));
}

/** The given leads' processed inputs in ingest order, as `streamLeads` reads them. */
export async function leadInputs(
  db: Queryable,
  ws: string,
  ids: readonly string[],
  opts: { context: boolean },
): Promise<Map<string, Input[]>> {
  const rows = await db.query<{ lead_id: string; inputs: Input[] }>(
    `select e.lead_id, json_agg(${inputSql(opts.context)} order by e.processed_order) as inputs
     from events e where e.workspace_id = $1 and e.lead_id = any($2::text[]) and e.processed
     group by e.lead_id`,
    [ws, ids],
  );
  return new Map(rows.map((r) => [r.lead_id, r.inputs]));
}

/** A lead's rescored columns, as `writeLeads` stores them. */
export interface RescoredRow {
  id: string;
  state: LeadState;
  stage: string;
  scores: Record<string, number>;
  grade: string | null;
  scoresAsOf: number;
  mqlAt: number | null;
  /** Set as `first_mql_at` when the lead has none yet. */
  firstMqlAt: number | null;
  /** The account stored before (`LeadToRescore.account`). */
  storedAccount: LeadAccount;
}

/**
 * Updates the leads' state and summary columns, and their model version, in one statement (and
 * their account, where it moved, in another). The state is the bulk of it; it is stored as json
 * (migration 007), checked rather than parsed into jsonb.
 */
export async function writeLeads(
  tx: Queryable,
  ws: string,
  version: number,
  rows: readonly RescoredRow[],
): Promise<void> {
  if (rows.length === 0) return;
  await tx.query(
    `update leads l set state = u.state::json, stage = u.stage, scores = u.scores::jsonb, grade = u.grade,
       scores_as_of = u.scores_as_of, mql_at = u.mql_at, first_mql_at = coalesce(l.first_mql_at, u.first_mql_at),
       model_version = $2, updated_at = now()
     from unnest($3::text[], string_to_array($4, E'\\x1e'), string_to_array($5, E'\\x1e'),
                 string_to_array($6, E'\\x1e'), string_to_array($7, E'\\x1e', ''), $8::bigint[], $9::bigint[],
                 $10::bigint[]) as u(id, state, stage, scores, grade, scores_as_of, mql_at, first_mql_at)
     where l.workspace_id = $1 and l.id = u.id`,
    [
      ws,
      version,
      rows.map((r) => r.id),
      rows.map((r) => JSON.stringify(r.state)).join(SEP),
      rows.map((r) => r.stage).join(SEP),
      rows.map((r) => JSON.stringify(r.scores)).join(SEP),
      rows.map((r) => r.grade ?? "").join(SEP),
      rows.map((r) => r.scoresAsOf),
      rows.map((r) => r.mqlAt),
      rows.map((r) => r.firstMqlAt),
    ],
  );
  // The lead's account follows its state, as live processing keeps it (`followAccount`). It
  // differs only for a lead stored before accounts were ranked, so only those are written.
  const moved = rows.flatMap((r) => {
    const a = accountOf(r.state.s);
    const was = r.storedAccount;
    return a.accountId === was.accountId && a.accountSource === was.accountSource ? [] : [{ id: r.id, ...a }];
  });
  if (moved.length > 0)
    await tx.query(
      `update leads l set account_id = u.account_id, account_source = u.account_source
       from unnest($2::text[], $3::text[], $4::text[]) as u(id, account_id, account_source)
       where l.workspace_id = $1 and l.id = u.id`,
      [ws, moved.map((r) => r.id), moved.map((r) => r.accountId), moved.map((r) => r.accountSource)],
    );
}
