import type { Queryable } from "../db/database.js";
import { arrayLiteral } from "../db/insert-rows.js";
import { ATTRIBUTION_MODELS, type AttributionModel, credit } from "./attribution.js";
import { STAGE_COLUMN } from "./funnel-report.js";
import { filterSql, LATEST_HANDOFF, needsHandoff, type ReportFilter } from "./report-filter.js";

/**
 * Attribution (docs/analytics.md): leads, MQLs, SQLs, opportunities and won revenue credited to
 * channels (or sources, or campaigns) of their touchpoints, under every model side by side. An
 * outcome counts when it happened in the range: a lead created, a first MQL, SQL, opportunity or
 * win. Won revenue is the amount of the lead's won handoff. Leads are read a page at a time with
 * their touchpoints, so memory holds one page and the totals.
 */

export const OUTCOMES = ["lead", "mql", "sql", "opportunity", "won"] as const;
export type Outcome = (typeof OUTCOMES)[number];
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
const PAGE = 2_000;
const iso = (ms: number) => new Date(ms).toISOString();
const zero = (): Credits => ({ lead: 0, mql: 0, sql: 0, opportunity: 0, won: 0, revenue: 0 });

interface LeadRow {
  lead_id: string;
  lead_at: number | null;
  mql_at: number | null;
  sql_at: number | null;
  opportunity_at: number | null;
  customer_at: number | null;
  revenue: string | null;
}

export async function attributionReport(
  q: Queryable,
  ws: string,
  f: ReportFilter,
  by: "channel" | "source" | "campaign" = "channel",
): Promise<AttributionReport> {
  const params: unknown[] = [ws, f.from, f.to];
  const filters = filterSql(f, params);
  const join = needsHandoff(f) ? LATEST_HANDOFF : "";
  const inRange = OUTCOMES.map((o) => `(f.${COLUMN[o]} >= $2 and f.${COLUMN[o]} < $3)`).join(" or ");
  const totals = zero();
  const rows = new Map<string, Record<AttributionModel, Credits>>();
  const row = (key: string) => {
    let r = rows.get(key);
    if (!r) {
      r = Object.fromEntries(ATTRIBUTION_MODELS.map((m) => [m, zero()])) as Record<AttributionModel, Credits>;
      rows.set(key, r);
    }
    return r;
  };
  let leads = 0;
  // Keyset paging by lead id: the last two parameters are the page's start and size.
  params.push("", PAGE);
  const AFTER = `$${params.length - 1}`;
  const LIMIT = `$${params.length}`;
  let after = "";
  for (;;) {
    params[params.length - 2] = after;
    const page = await q.query<LeadRow>(
      `select f.lead_id, f.lead_at, f.mql_at, f.sql_at, f.opportunity_at, f.customer_at,
         (select x.amount from handoffs x where x.workspace_id = f.workspace_id and x.lead_id = f.lead_id
            and x.status = 'won' order by x.closed_at desc nulls last limit 1)::text as revenue
       from lead_funnel f ${join}
       where f.workspace_id = $1 and (${inRange})${filters} and f.lead_id > ${AFTER}
       order by f.lead_id limit ${LIMIT}`,
      params,
    );
    if (page.length === 0) break;
    leads += page.length;
    after = (page[page.length - 1] as LeadRow).lead_id;
    const touches = await q.query<{ lead_id: string; start_at: number; key: string | null }>(
      `select lead_id, start_at, ${by} as key from touchpoints
       where workspace_id = $1 and lead_id = any($2::text[]) order by lead_id, idx`,
      [
        ws,
        arrayLiteral(
          page.map((r) => r.lead_id),
          "text",
        ),
      ],
    );
    const byLead = new Map<string, { times: number[]; keys: string[] }>();
    for (const t of touches) {
      const e = byLead.get(t.lead_id) ?? { times: [], keys: [] };
      e.times.push(Number(t.start_at));
      e.keys.push(t.key ?? `(no ${by})`);
      byLead.set(t.lead_id, e);
    }
    for (const lead of page) {
      const tp = byLead.get(lead.lead_id) ?? { times: [], keys: [] };
      const milestones = {
        leadAt: lead.lead_at === null ? null : Number(lead.lead_at),
        opportunityAt: lead.opportunity_at === null ? null : Number(lead.opportunity_at),
      };
      for (const o of OUTCOMES) {
        const at = lead[COLUMN[o] as keyof LeadRow];
        if (at === null || Number(at) < f.from || Number(at) >= f.to) continue;
        const revenue = o === "won" ? Number(lead.revenue ?? 0) : 0;
        totals[o]++;
        totals.revenue += revenue;
        for (const m of ATTRIBUTION_MODELS) {
          const w = credit(tp.times, m, Number(at), milestones);
          if (!w.some((x) => x > 0)) {
            row(NO_TOUCH)[m][o]++;
            row(NO_TOUCH)[m].revenue += revenue;
            continue;
          }
          w.forEach((x, i) => {
            if (x === 0) return;
            const c = row(tp.keys[i] as string)[m];
            c[o] += x;
            c.revenue += x * revenue;
          });
        }
      }
    }
    if (page.length < PAGE) break;
  }
  return {
    from: iso(f.from),
    to: iso(f.to),
    leads,
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
