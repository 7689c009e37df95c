import type { Queryable } from "../db/database.js";
import {
  ATTRIBUTION_MODELS,
  type AttributionModel,
  MODEL_COLUMN,
  OUTCOMES,
  type Outcome,
} from "./attribution.js";
import { STAGE_COLUMN } from "./funnel-report.js";
import { filterSql, LATEST_HANDOFF, needsHandoff, type ReportFilter } from "./report-filter.js";

/**
 * Attribution (docs/analytics.md): leads, MQLs, SQLs, opportunities and won revenue credited to
 * channels (or sources, or campaigns) of their touchpoints, under every model side by side. An
 * outcome counts when it happened in the range: a lead created, a first MQL, SQL, opportunity or
 * win. Won revenue is the amount of the lead's won handoff. The credits are in the rollup
 * (`attribution_credits`, one row per outcome and channel, source and campaign of its touches), so
 * the report is two aggregates: the totals from `lead_funnel`, the credits summed by key.
 */

const COLUMN: Record<Outcome, string> = { ...STAGE_COLUMN, won: STAGE_COLUMN.customer };

export type Credits = Record<Outcome | "revenue", number>;

export interface AttributionReport {
  from: string;
  to: string;
  /** Leads with an outcome in the range. */
  leads: number;
  by: "channel" | "source" | "campaign";
  /** Outcomes in the range (every model's credits add up to these). */
  totals: Credits;
  rows: { key: string; models: Record<AttributionModel, Credits> }[];
}

export const NO_TOUCH = "(no touch)";
const iso = (ms: number) => new Date(ms).toISOString();
const zero = (): Credits => ({ lead: 0, mql: 0, sql: 0, opportunity: 0, won: 0, revenue: 0 });

export async function attributionReport(
  q: Queryable,
  ws: string,
  f: ReportFilter,
  by: "channel" | "source" | "campaign" = "channel",
): Promise<AttributionReport> {
  const params: unknown[] = [ws, f.from, f.to];
  const filters = filterSql(f, params);
  const join = needsHandoff(f) ? LATEST_HANDOFF : "";
  const inRange = (c: string) => `f.${c} >= $2 and f.${c} < $3`;
  const totalQuery = q.query<Record<Outcome | "leads", number>>(
    `select count(*)::int as leads, ${OUTCOMES.map((o) => `count(*) filter (where ${inRange(COLUMN[o])})::int as ${o}`).join(", ")}
     from lead_funnel f ${join}
     where f.workspace_id = $1 and (${OUTCOMES.map((o) => `(${inRange(COLUMN[o])})`).join(" or ")})${filters}`,
    params,
  );
  // Credits of the outcomes in the range; the lead's funnel row only when a filter needs it.
  const key =
    by === "channel"
      ? `coalesce(c.channel, '${NO_TOUCH}')`
      : `case when c.channel is null then '${NO_TOUCH}' else coalesce(c.${by}, '(no ${by})') end`;
  const sums = ATTRIBUTION_MODELS.flatMap((m) => [
    `sum(c.${MODEL_COLUMN[m]})::float8 as "${m}"`,
    `coalesce(sum(c.${MODEL_COLUMN[m]} * c.amount), 0)::float8 as "${m}Revenue"`,
  ]);
  const creditQuery = q.query<Record<string, number | string>>(
    `select ${key} as key, c.outcome, ${sums.join(", ")}
     from attribution_credits c
     ${filters === "" ? "" : `join lead_funnel f on f.workspace_id = c.workspace_id and f.lead_id = c.lead_id ${join}`}
     where c.workspace_id = $1 and c.at >= $2 and c.at < $3${filters}
     group by 1, 2`,
    params,
  );
  // Two scans: side by side when the pool has connections for both.
  const [[total], credits] = await Promise.all([totalQuery, creditQuery]);
  const totals = zero();
  for (const o of OUTCOMES) totals[o] = Number(total?.[o] ?? 0);
  const rows = new Map<string, Record<AttributionModel, Credits>>();
  for (const c of credits) {
    const k = String(c.key);
    let r = rows.get(k);
    if (!r) {
      r = Object.fromEntries(ATTRIBUTION_MODELS.map((m) => [m, zero()])) as Record<AttributionModel, Credits>;
      rows.set(k, r);
    }
    const o = c.outcome as Outcome;
    for (const m of ATTRIBUTION_MODELS) {
      r[m][o] += Number(c[m]);
      r[m].revenue += Number(c[`${m}Revenue`]);
    }
    // First touch gives each won outcome's whole amount to one row: its sum is the revenue.
    if (o === "won") totals.revenue += Number(c.firstTouchRevenue);
  }
  return {
    from: iso(f.from),
    to: iso(f.to),
    leads: Number(total?.leads ?? 0),
    by,
    totals,
    rows: [...rows]
      .map(([key, models]) => ({ key, models }))
      .sort(
        (a, b) =>
          b.models.linear.lead + b.models.linear.mql - (a.models.linear.lead + a.models.linear.mql) ||
          a.key.localeCompare(b.key),
      ),
  };
}
