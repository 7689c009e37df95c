import type { Queryable } from "../db/database.js";
import { breakdownSql, filterSql, LATEST_HANDOFF, needsHandoff, type ReportFilter } from "./report-filter.js";

/**
 * The funnel: visitor → lead → MQL → SAL → SQL → opportunity → customer, counts and the
 * conversion rate from each stage to the next (docs/analytics.md). Reads `lead_funnel`, where a
 * lead has the first time it reached each stage or a later one.
 *
 * - **range** view: the leads that reached each stage for the first time within the range
 *   (visitors: profiles first seen in it). The rates compare counts of one period, so they can
 *   pass 100 % when earlier leads convert in it.
 * - **cohort** view: the leads that became leads within the range, by the week or month they
 *   did (UTC), and how far each cohort has come since, up to now. Visitors are the profiles
 *   first seen in the cohort's period.
 */

export const FUNNEL_STAGES = ["visitor", "lead", "mql", "sal", "sql", "opportunity", "customer"] as const;
export type FunnelStage = (typeof FUNNEL_STAGES)[number];

/** Each stage's milestone column in `lead_funnel`. */
export const STAGE_COLUMN: Record<FunnelStage, string> = {
  visitor: "first_seen_at",
  lead: "lead_at",
  mql: "mql_at",
  sal: "sal_at",
  sql: "sql_at",
  opportunity: "opportunity_at",
  customer: "customer_at",
};

export interface StageCount {
  stage: FunnelStage;
  count: number;
  /** This count over the previous stage's (null for the first, or when that is 0). */
  rate: number | null;
}

export interface FunnelGroup {
  /** The breakdown's value (null: unknown), or the cohort's first day. */
  key: string | null;
  stages: StageCount[];
}

export interface FunnelReport {
  view: "range" | "cohort";
  from: string;
  to: string;
  /** Leads (profiles) the report counts: those with any stage in the range (range view), or the cohorts'. */
  leads: number;
  total: StageCount[];
  groups: FunnelGroup[];
  period?: "week" | "month";
}

const iso = (ms: number) => new Date(ms).toISOString();

function stageCounts(row: Record<string, unknown>): StageCount[] {
  let prev: number | null = null;
  return FUNNEL_STAGES.map((stage) => {
    const count = Number(row[stage] ?? 0);
    const rate = prev === null || prev === 0 ? null : count / prev;
    prev = count;
    return { stage, count, rate };
  });
}

export async function funnelReport(
  q: Queryable,
  ws: string,
  f: ReportFilter,
  view: "range" | "cohort",
  period: "week" | "month" = "week",
): Promise<FunnelReport> {
  const params: unknown[] = [ws, f.from, f.to];
  const filters = filterSql(f, params);
  const join = needsHandoff(f) ? LATEST_HANDOFF : "";
  const key = view === "cohort" ? null : breakdownSql(f.by);
  const inRange = (c: string) => `f.${c} >= $2 and f.${c} < $3`;
  const counts =
    view === "range"
      ? FUNNEL_STAGES.map((s) => `count(*) filter (where ${inRange(STAGE_COLUMN[s])})::int as "${s}"`)
      : FUNNEL_STAGES.map((s) =>
          s === "visitor" ? `0 as "${s}"` : `count(f.${STAGE_COLUMN[s]})::int as "${s}"`,
        );
  const scope =
    view === "range"
      ? `(${FUNNEL_STAGES.map((s) => inRange(STAGE_COLUMN[s])).join(" or ")})`
      : inRange("lead_at");
  const bucket = bucketSql("f.lead_at", period);
  const group = view === "cohort" ? bucket : key;
  const rows = await q.query<Record<string, unknown> & { key: string | number | null; leads: number }>(
    `select ${group ? `${group} as key,` : ""} count(*)::int as leads, ${counts.join(", ")}
     from lead_funnel f ${join}
     where f.workspace_id = $1 and ${scope}${filters}
     ${group ? "group by 1 order by 1" : ""}`,
    params,
  );
  if (view === "cohort") await addCohortVisitors(q, period, rows, join, filters, params);
  const total: Record<string, number> = {};
  for (const r of rows) for (const s of FUNNEL_STAGES) total[s] = (total[s] ?? 0) + Number(r[s] ?? 0);
  const keyOf = (k: string | number | null) =>
    k === null ? null : view === "cohort" ? iso(Number(k)) : String(k);
  return {
    view,
    from: iso(f.from),
    to: iso(f.to),
    leads: rows.reduce((n, r) => n + Number(r.leads), 0),
    total: stageCounts(total),
    groups: group ? rows.map((r) => ({ key: keyOf(r.key), stages: stageCounts(r) })) : [],
    ...(view === "cohort" ? { period } : {}),
  };
}

/** The first instant (epoch ms, UTC) of the week (Monday) or month of a time column. */
const bucketSql = (column: string, period: "week" | "month") =>
  `(extract(epoch from date_trunc('${period}', to_timestamp(${column} / 1000.0) at time zone 'UTC')) * 1000)::bigint`;

/** A cohort's visitors: the profiles first seen in its period (within the range), same filters. */
async function addCohortVisitors(
  q: Queryable,
  period: "week" | "month",
  rows: (Record<string, unknown> & { key: string | number | null })[],
  join: string,
  filters: string,
  params: unknown[],
): Promise<void> {
  const visitors = await q.query<{ key: number; n: number }>(
    `select ${bucketSql("f.first_seen_at", period)} as key, count(*)::int as n
     from lead_funnel f ${join}
     where f.workspace_id = $1 and f.first_seen_at >= $2 and f.first_seen_at < $3${filters}
     group by 1`,
    params,
  );
  const byKey = new Map(visitors.map((v) => [Number(v.key), v.n]));
  for (const r of rows) r.visitor = byKey.get(Number(r.key)) ?? 0;
}
