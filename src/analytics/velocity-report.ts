import type { Queryable } from "../db/database.js";
import { breakdownSql, filterSql, LATEST_HANDOFF, needsHandoff, type ReportFilter } from "./report-filter.js";

/**
 * Velocity (docs/analytics.md): how long leads take between funnel milestones, and how long they
 * stay in each stage. An interval counts the leads whose later milestone fell within the range
 * (and that have the earlier one); a stay counts when it ended within the range. Median and p75
 * are `percentile_cont` (linear between neighbours), in milliseconds.
 */

export const INTERVALS = [
  { name: "first touch → lead", from: "first_touch_at", to: "lead_at" },
  { name: "lead → MQL", from: "lead_at", to: "mql_at" },
  { name: "MQL → accepted", from: "mql_at", to: "sal_at" },
  { name: "MQL → SQL", from: "mql_at", to: "sql_at" },
  { name: "MQL → won", from: "mql_at", to: "customer_at" },
] as const;

export interface Durations {
  count: number;
  medianMs: number | null;
  p75Ms: number | null;
}

export interface VelocityReport {
  from: string;
  to: string;
  /** Leads with any of the intervals' later milestones in the range. */
  leads: number;
  intervals: ({ name: string } & Durations)[];
  groups: { key: string | null; intervals: ({ name: string } & Durations)[] }[];
  /** Stays that ended in the range, by stage; `open`: stays begun before `to` and not ended by then. */
  stages: ({ stage: string; open: number } & Durations)[];
}

const iso = (ms: number) => new Date(ms).toISOString();
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export async function velocityReport(q: Queryable, ws: string, f: ReportFilter): Promise<VelocityReport> {
  const params: unknown[] = [ws, f.from, f.to];
  const filters = filterSql(f, params);
  const join = needsHandoff(f) ? LATEST_HANDOFF : "";
  const key = breakdownSql(f.by);
  const cols = INTERVALS.flatMap((iv, i) => {
    const when = `f.${iv.to} >= $2 and f.${iv.to} < $3 and f.${iv.from} is not null`;
    const d = `f.${iv.to} - f.${iv.from}`;
    return [
      `count(*) filter (where ${when})::int as n${i}`,
      `percentile_cont(0.5) within group (order by ${d}) filter (where ${when}) as m${i}`,
      `percentile_cont(0.75) within group (order by ${d}) filter (where ${when}) as p${i}`,
    ];
  });
  const scope = INTERVALS.map((iv) => `(f.${iv.to} >= $2 and f.${iv.to} < $3)`).join(" or ");
  const run = (grouped: boolean) =>
    q.query<Record<string, unknown>>(
      `select ${grouped ? `${key} as key,` : ""} count(*)::int as leads, ${cols.join(", ")}
       from lead_funnel f ${join}
       where f.workspace_id = $1 and (${scope})${filters}
       ${grouped ? "group by 1 order by 1" : ""}`,
      params,
    );
  const intervals = (r: Record<string, unknown> | undefined) =>
    INTERVALS.map((iv, i) => ({
      name: iv.name,
      count: Number(r?.[`n${i}`] ?? 0),
      medianMs: num(r?.[`m${i}`]),
      p75Ms: num(r?.[`p${i}`]),
    }));
  // Side by side, when the pool has the connections.
  const [[total], groups, stages] = await Promise.all([
    run(false),
    key ? run(true) : Promise.resolve([]),
    stageStays(q, params, join, filters),
  ]);
  return {
    from: iso(f.from),
    to: iso(f.to),
    leads: Number(total?.leads ?? 0),
    intervals: intervals(total),
    groups: groups.map((g) => ({ key: g.key === null ? null : String(g.key), intervals: intervals(g) })),
    stages,
  };
}

async function stageStays(
  q: Queryable,
  params: unknown[],
  join: string,
  filters: string,
): Promise<VelocityReport["stages"]> {
  const rows = await q.query<{ stage: string; n: number; m: number | null; p: number | null; open: number }>(
    `select s.stage,
       count(*) filter (where s.left_at >= $2 and s.left_at < $3)::int as n,
       percentile_cont(0.5) within group (order by s.left_at - s.entered_at)
         filter (where s.left_at >= $2 and s.left_at < $3) as m,
       percentile_cont(0.75) within group (order by s.left_at - s.entered_at)
         filter (where s.left_at >= $2 and s.left_at < $3) as p,
       count(*) filter (where s.entered_at < $3 and (s.left_at is null or s.left_at >= $3))::int as open
     from stage_stays s
     ${filters === "" ? "" : `join lead_funnel f on f.workspace_id = s.workspace_id and f.lead_id = s.lead_id ${join}`}
     where s.workspace_id = $1 and ((s.left_at >= $2 and s.left_at < $3)
       or (s.entered_at < $3 and (s.left_at is null or s.left_at >= $3)))${filters}
     group by s.stage order by s.stage`,
    params,
  );
  return rows.map((r) => ({ stage: r.stage, count: r.n, medianMs: num(r.m), p75Ms: num(r.p), open: r.open }));
}
