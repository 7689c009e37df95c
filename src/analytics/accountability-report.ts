import type { Queryable } from "../db/database.js";
import { filterSql, type ReportFilter } from "./report-filter.js";

/**
 * The handoff's accountability (docs/analytics.md): SLA compliance per owner and team, rejection
 * reasons, recycle and re-MQL rates, and MQL volume per week against sales capacity. Reads
 * `handoffs` (those assigned in the range), joined to `lead_funnel` for the first-touch and grade
 * filters; owner and team filters apply to the handoff itself. `now` is the service clock: an
 * unanswered handoff whose SLA is still running is `pending`, not missed.
 */

export interface Compliance {
  key: string | null;
  handoffs: number;
  /** With an SLA (a due time). */
  withSla: number;
  /** First action (accept or reject) by the due time. */
  met: number;
  /** Acted after the due time, or not acted and the due time has passed. */
  missed: number;
  /** Not acted, and still within the SLA. */
  pending: number;
  /** met / (met + missed); null when neither. */
  compliance: number | null;
  /** Breaches recorded (a handoff reassigned on breach counts each). */
  breaches: number;
}

export interface AccountabilityReport {
  from: string;
  to: string;
  /** Leads handed off in the range. */
  leads: number;
  sla: Compliance;
  byOwner: Compliance[];
  byTeam: Compliance[];
  rejections: { reason: string; count: number; share: number }[];
  recycling: {
    handoffs: number;
    reMqls: number;
    reMqlRate: number | null;
    recycled: number;
    recycleRate: number | null;
  };
  weekly: { week: string; mqls: number; reMqls: number; capacity: number | null }[];
  /** The sales capacity per week: the sum of sales users' weekly capacities; null when any has none (no limit). */
  capacity: number | null;
}

const iso = (ms: number) => new Date(ms).toISOString();
const rate = (a: number, b: number) => (b === 0 ? null : a / b);

export async function accountabilityReport(
  q: Queryable,
  ws: string,
  f: ReportFilter,
  now: number,
): Promise<AccountabilityReport> {
  const params: unknown[] = [ws, f.from, f.to];
  const filters = filterSql(f, params);
  // The compliance query alone reads the clock.
  const withNow = [...params, now];
  const NOW = `$${withNow.length}`;
  // Handoffs whose `column` falls in the range; `h` is the handoff itself, for the owner and team filters.
  // The lead's funnel row only when a filter reads it (joining a million of them costs more than the rest).
  const funnel = [f.channel, f.source, f.campaign, f.grade].some((v) => v !== undefined)
    ? "left join lead_funnel f on f.workspace_id = x.workspace_id and f.lead_id = x.lead_id"
    : "";
  const handoffs = (column: string) => `from handoffs x ${funnel}
    cross join lateral (select x.owner_id, x.team) h
    where x.workspace_id = $1 and x.${column} >= $2 and x.${column} < $3 and x.status <> 'merged'${filters}`;
  const base = handoffs("assigned_at");
  const compliance = (key: string | null) =>
    q.query<Record<string, unknown>>(
      `select ${key ? `${key} as key,` : "null as key,"} count(*)::int as handoffs,
         count(x.due_at)::int as with_sla,
         count(*) filter (where x.due_at is not null and x.acted_at is not null and x.acted_at <= x.due_at)::int as met,
         count(*) filter (where x.due_at is not null and (x.acted_at > x.due_at or (x.acted_at is null and x.due_at <= ${NOW})))::int as missed,
         count(*) filter (where x.due_at is not null and x.acted_at is null and x.due_at > ${NOW})::int as pending,
         coalesce(sum(x.breaches), 0)::int as breaches,
         count(distinct x.lead_id)::int as leads
       ${base} ${key ? "group by 1 order by 1" : ""}`,
      withNow,
    );
  const toCompliance = (r: Record<string, unknown>): Compliance => {
    const met = Number(r.met);
    const missed = Number(r.missed);
    return {
      key: r.key === null ? null : String(r.key),
      handoffs: Number(r.handoffs),
      withSla: Number(r.with_sla),
      met,
      missed,
      pending: Number(r.pending),
      compliance: rate(met, met + missed),
      breaches: Number(r.breaches),
    };
  };
  // The queries side by side, when the pool has the connections.
  const [[total], owners, teams, rejections, recycling, weekly, capacity, users] = await Promise.all([
    compliance(null),
    compliance("x.owner_id"),
    compliance("x.team"),
    q.query<{ reason: string; n: number }>(
      `select coalesce(x.reason, '(no reason)') as reason, count(*)::int as n ${base} and x.status = 'rejected'
     group by 1 order by 2 desc, 1`,
      params,
    ),
    q.query<{ handoffs: number; re: number; recycled: number }>(
      `select count(*)::int as handoffs, count(*) filter (where x.kind = 're-mql')::int as re,
       count(*) filter (where x.disposition = 'recycle')::int as recycled ${base}`,
      params,
    ),
    q.query<{ week: number; mqls: number; re: number }>(
      `select (extract(epoch from date_trunc('week', to_timestamp(x.mql_at / 1000.0) at time zone 'UTC')) * 1000)::bigint
       as week, count(*)::int as mqls, count(*) filter (where x.kind = 're-mql')::int as re
     ${handoffs("mql_at")}
     group by 1 order by 1`,
      params,
    ),
    salesCapacity(q, ws, f.team),
    q.query<{ id: string; email: string }>("select id, email from users where workspace_id = $1", [ws]),
  ]);
  // Owners by email (their id when the user is gone), named after grouping rather than per handoff.
  const email = new Map(users.map((u) => [u.id, u.email]));
  const byOwner = owners
    .map((o) => ({ ...o, key: o.key === null ? null : (email.get(String(o.key)) ?? o.key) }))
    .sort((a, b) => String(a.key ?? "").localeCompare(String(b.key ?? "")));
  const rejected = rejections.reduce((n, r) => n + r.n, 0);
  const r = recycling[0] ?? { handoffs: 0, re: 0, recycled: 0 };
  return {
    from: iso(f.from),
    to: iso(f.to),
    leads: Number(total?.leads ?? 0),
    sla: toCompliance(total ?? { key: null }),
    byOwner: byOwner.map(toCompliance),
    byTeam: teams.map(toCompliance),
    rejections: rejections.map((x) => ({ reason: x.reason, count: x.n, share: x.n / rejected })),
    recycling: {
      handoffs: r.handoffs,
      reMqls: r.re,
      reMqlRate: rate(r.re, r.handoffs),
      recycled: r.recycled,
      recycleRate: rate(r.recycled, r.handoffs),
    },
    weekly: weekly.map((w) => ({ week: iso(Number(w.week)), mqls: w.mqls, reMqls: w.re, capacity })),
    capacity,
  };
}

/** Handoffs a week the sales users (of a team) can take; null when any of them has no limit. */
async function salesCapacity(q: Queryable, ws: string, team: string | undefined): Promise<number | null> {
  const rows = await q.query<{ users: number; unlimited: number; total: number | null }>(
    `select count(*)::int as users, count(*) filter (where weekly_capacity is null)::int as unlimited,
       sum(weekly_capacity)::int as total
     from users where workspace_id = $1 and role = 'sales' and ($2::text is null or $2 = any(teams))`,
    [ws, team ?? null],
  );
  const r = rows[0];
  if (!r || r.users === 0 || r.unlimited > 0) return null;
  return Number(r.total);
}
