import * as z from "zod";
import { QualifyError } from "../errors.js";

/**
 * What every report takes: a date range (`from` inclusive, `to` exclusive), filters on the lead's
 * first touch, owner, team and grade, and an optional breakdown. The same in the API's query
 * string and the CLI's flags.
 */

export const BREAKDOWNS = ["channel", "source", "campaign", "owner", "team", "grade"] as const;
export type Breakdown = (typeof BREAKDOWNS)[number];

const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T.+)?$/, { error: "expected a date such as 2026-09-01, or an ISO time" });

/** The query string (and CLI flags) every report takes. */
export const reportQuerySchema = z.object({
  from: day.describe("the range's first day (UTC) or instant, inclusive"),
  to: day.describe("the range's end (UTC), exclusive"),
  channel: z.string().min(1).optional().describe("only leads whose first touch had this channel"),
  source: z.string().min(1).optional(),
  campaign: z.string().min(1).optional(),
  owner: z.string().min(1).optional().describe("only leads whose latest handoff is this user's (id)"),
  team: z.string().min(1).optional(),
  grade: z.string().min(1).optional().describe("the grade at first MQL, else the grade now"),
  by: z.enum(BREAKDOWNS).optional().describe("a breakdown"),
});

export type ReportQuery = z.infer<typeof reportQuerySchema>;
export type ReportFilter = Omit<ReportQuery, "from" | "to"> & { from: number; to: number };

/** The query with its dates read (epoch ms); INPUT_INVALID names a bad or reversed date. */
export function reportFilter(q: ReportQuery): ReportFilter {
  const ms = (field: "from" | "to") => {
    const v = q[field];
    const t = Date.parse(v.length === 10 ? `${v}T00:00:00Z` : v);
    if (Number.isNaN(t))
      throw new QualifyError("INPUT_INVALID", `${field}: '${v}' is not a date`, [
        { path: field, message: "not a date" },
      ]);
    return t;
  };
  const f = { ...q, from: ms("from"), to: ms("to") };
  if (f.to <= f.from)
    throw new QualifyError("INPUT_INVALID", "to must be after from", [
      { path: "to", message: "must be after from" },
    ]);
  return f;
}

/** SQL for the filters over `lead_funnel f` and the lead's latest handoff `h`; params appended. */
export function filterSql(f: ReportFilter, params: unknown[]): string {
  const where: string[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (f.channel !== undefined) where.push(`f.first_channel = ${p(f.channel)}`);
  if (f.source !== undefined) where.push(`f.first_source = ${p(f.source)}`);
  if (f.campaign !== undefined) where.push(`f.first_campaign = ${p(f.campaign)}`);
  if (f.grade !== undefined) where.push(`f.grade = ${p(f.grade)}`);
  if (f.owner !== undefined) where.push(`h.owner_id = ${p(f.owner)}`);
  if (f.team !== undefined) where.push(`h.team = ${p(f.team)}`);
  return where.map((w) => ` and ${w}`).join("");
}

/** The breakdown's key as SQL (null: none). */
export const breakdownSql = (by: Breakdown | undefined): string | null =>
  by === undefined
    ? null
    : {
        channel: "f.first_channel",
        source: "f.first_source",
        campaign: "f.first_campaign",
        owner: "h.owner_id",
        team: "h.team",
        grade: "f.grade",
      }[by];

/** The lead's latest handoff (owner, team), joined when a filter or breakdown needs it. */
export const LATEST_HANDOFF = `left join lateral (
    select owner_id, team from handoffs x
    where x.workspace_id = f.workspace_id and x.lead_id = f.lead_id order by x.mql_at desc limit 1) h on true`;

export const needsHandoff = (f: ReportFilter) =>
  f.owner !== undefined || f.team !== undefined || f.by === "owner" || f.by === "team";
