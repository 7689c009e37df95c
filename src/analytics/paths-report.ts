import type { Queryable } from "../db/database.js";
import { filterSql, LATEST_HANDOFF, needsHandoff, type ReportFilter } from "./report-filter.js";

/**
 * Conversion paths (docs/analytics.md): the ordered touchpoint types of a lead's sessions, as the
 * rollup stores them (consecutive repeats collapsed unless configured otherwise).
 * - Before MQL: the leads created in the range, grouped by their path up to their first MQL (the
 *   whole path so far for those not MQL yet); how many became MQLs, and the rate.
 * - Before won: the leads that became MQLs in the range, grouped by their path up to their win
 *   (so far, if not won); how many were won, and the rate.
 * The most frequent converting paths first.
 */

export interface PathRow {
  path: string[];
  leads: number;
  converted: number;
  rate: number;
}

export interface PathsReport {
  from: string;
  to: string;
  /** Leads created in the range (the before-MQL population). */
  leads: number;
  /** MQLs in the range (the before-won population). */
  mqls: number;
  beforeMql: PathRow[];
  beforeWon: PathRow[];
}

const iso = (ms: number) => new Date(ms).toISOString();

export async function pathsReport(
  q: Queryable,
  ws: string,
  f: ReportFilter,
  limit: number,
): Promise<PathsReport> {
  const params: unknown[] = [ws, f.from, f.to];
  const filters = filterSql(f, params);
  const join = needsHandoff(f) ? LATEST_HANDOFF : "";
  params.push(limit);
  // The paths table has the milestones it counts by; the funnel row only for a filter.
  const funnel =
    filters === ""
      ? ""
      : `join lead_funnel f on f.workspace_id = p.workspace_id and f.lead_id = p.lead_id ${join}`;
  const top = (column: string, population: string, converted: string) =>
    q.query<{ path: string[]; leads: number; converted: number; total: number }>(
      `select p.${column} as path, count(*)::int as leads, count(p.${converted})::int as converted,
         sum(count(*)) over ()::int as total
       from lead_paths p ${funnel}
       where p.workspace_id = $1 and p.${population} >= $2 and p.${population} < $3${filters}
       group by 1
       order by count(p.${converted}) desc, count(*) desc, 1
       limit $${params.length}`,
      params,
    );
  const rows = (rs: { path: string[]; leads: number; converted: number }[]): PathRow[] =>
    rs.map((r) => ({ path: r.path, leads: r.leads, converted: r.converted, rate: r.converted / r.leads }));
  const [mql, won] = await Promise.all([
    top("path_to_mql", "lead_at", "mql_at"),
    top("path_to_won", "mql_at", "customer_at"),
  ]);
  return {
    from: iso(f.from),
    to: iso(f.to),
    leads: mql[0]?.total ?? 0,
    mqls: won[0]?.total ?? 0,
    beforeMql: rows(mql),
    beforeWon: rows(won),
  };
}
