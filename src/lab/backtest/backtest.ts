import type { Queryable } from "../../db/database.js";
import { type CompiledModel, replayInIngestOrder, type Transition } from "../../engine/index.js";
import { weekOf } from "../../pipeline/publish-model.js";
import { readsContext, streamLeads } from "../../pipeline/rescore-stream.js";
import { outcomeTimes } from "../outcome-times.js";

/**
 * A backtest (docs/model-lab.md): stored history replayed under draft models, lead by lead, with the
 * engine's ingest-order replay (the order live processing saw the inputs in), without touching live
 * state. Each model's MQLs in the period are compared with the stored (live) ones and with outcomes.
 */

const DAY = 86_400_000;

export interface BacktestModel {
  label: string;
  model: CompiledModel;
}

export interface MqlExample {
  leadId: string;
  email: string | null;
  at: number;
  /** The model's reason for the MQL (for a drop: the live one's). */
  reason: string;
}

export interface ModelResult {
  label: string;
  /** Leads whose first MQL in the period this model made. */
  mqls: number;
  byWeek: { week: string; mqls: number }[];
  /** Its MQLs that reached an opportunity or a win after the MQL (CRM-sourced outcomes included). */
  precision: { reached: number; rate: number | null };
  /**
   * Accepted (SAL) and converted (SQL) rates among its MQLs that the live model handed off; the
   * others are unobservable (sales never saw them), not failures.
   */
  handoff: {
    observable: number;
    sal: number;
    sql: number;
    salRate: number | null;
    sqlRate: number | null;
    unobservable: number;
  };
  /** Of the leads that reached an opportunity or a win in the period: how many it qualified before. */
  recall: { outcomes: number; qualified: number; rate: number | null };
  /** Days from the live model's MQL to this one's, for outcomes both qualified (negative: earlier). */
  leadTime: { leads: number; medianDays: number | null; earlier: number; later: number; same: number };
  /** Against the live model, in the period. */
  vsLive: {
    both: number;
    adds: number;
    drops: number;
    addExamples: MqlExample[];
    dropExamples: MqlExample[];
  };
}

export interface BacktestReport {
  from: string;
  to: string;
  leads: number;
  events: number;
  live: ModelResult;
  models: ModelResult[];
}

interface Mql {
  at: number;
  reason: string;
}

interface LeadFacts {
  email: string | null;
  liveFirstMql: number | null;
  liveMqlInPeriod: Mql | null;
  sal: boolean;
  sql: boolean;
}

/** The first MQL at or after `from` and before `to`, and the first ever. */
function mqls(
  ts: readonly Transition[],
  from: number,
  to: number,
): { first: number | null; inPeriod: Mql | null } {
  let first: number | null = null;
  let inPeriod: Mql | null = null;
  for (const t of ts) {
    if (t.to !== "mql") continue;
    if (first === null) first = t.at;
    if (inPeriod === null && t.at >= from && t.at < to) inPeriod = { at: t.at, reason: t.reason };
  }
  return { first, inPeriod };
}

export async function backtest(
  q: Queryable,
  ws: string,
  models: readonly BacktestModel[],
  o: { from: number; to: number; examples?: number },
): Promise<BacktestReport> {
  const facts = await liveFacts(q, ws, o.from, o.to);
  const outcomes = await outcomeTimes(q, ws, "opportunity");
  const firstEver = models.map(() => new Map<string, number>());
  const inPeriod = models.map(() => new Map<string, Mql>());
  let leads = 0;
  let events = 0;
  const context = models.some((m) => readsContext(m.model.spec));
  for await (const batch of streamLeads(q, ws, { context })) {
    for (const lead of batch) {
      leads++;
      events += lead.inputs.length;
      models.forEach((m, j) => {
        const r = mqls(replayInIngestOrder(m.model, lead.inputs, o.to - 1).transitions, o.from, o.to);
        if (r.first !== null) (firstEver[j] as Map<string, number>).set(lead.id, r.first);
        if (r.inPeriod !== null) (inPeriod[j] as Map<string, Mql>).set(lead.id, r.inPeriod);
      });
    }
  }
  const liveFirst = new Map<string, number>();
  const liveIn = new Map<string, Mql>();
  for (const [id, f] of facts) {
    if (f.liveFirstMql !== null) liveFirst.set(id, f.liveFirstMql);
    if (f.liveMqlInPeriod !== null) liveIn.set(id, f.liveMqlInPeriod);
  }
  const ctx = { facts, outcomes, liveFirst, liveIn, from: o.from, to: o.to, examples: o.examples ?? 5 };
  return {
    from: new Date(o.from).toISOString(),
    to: new Date(o.to).toISOString(),
    leads,
    events,
    live: result("live (stored)", liveFirst, liveIn, ctx),
    models: models.map((m, j) =>
      result(m.label, firstEver[j] as Map<string, number>, inPeriod[j] as Map<string, Mql>, ctx),
    ),
  };
}

/** Per lead: its email, its stored (live) MQLs, and whether sales accepted (SAL) and converted (SQL) it. */
async function liveFacts(
  q: Queryable,
  ws: string,
  from: number,
  to: number,
): Promise<Map<string, LeadFacts>> {
  const rows = await q.query<{
    id: string;
    email: string | null;
    first_mql: number | string | null;
    mql_at: number | string | null;
    reason: string | null;
    sal: boolean;
    sql: boolean;
  }>(
    `select l.id, l.email, t.first_mql, t.mql_at,
       (select x.reason from transitions x where x.workspace_id = $1 and x.lead_id = l.id and x.to_stage = 'mql'
          and x.at = t.mql_at limit 1) as reason,
       coalesce(t.sal, false) as sal, coalesce(t.sql, false) as sql
     from leads l
     join (select lead_id, min(at) filter (where to_stage = 'mql') as first_mql,
             min(at) filter (where to_stage = 'mql' and at >= $2 and at < $3) as mql_at,
             bool_or(to_stage in ('sal', 'sql', 'opportunity', 'customer')) as sal,
             bool_or(to_stage in ('sql', 'opportunity', 'customer')) as sql
           from transitions where workspace_id = $1 group by lead_id) t on t.lead_id = l.id
     where l.workspace_id = $1 and l.merged_into is null`,
    [ws, from, to],
  );
  return new Map(
    rows.map((r) => [
      r.id,
      {
        email: r.email,
        liveFirstMql: r.first_mql === null ? null : Number(r.first_mql),
        liveMqlInPeriod: r.mql_at === null ? null : { at: Number(r.mql_at), reason: r.reason ?? "" },
        sal: r.sal,
        sql: r.sql,
      },
    ]),
  );
}

interface Context {
  facts: Map<string, LeadFacts>;
  outcomes: Map<string, number>;
  liveFirst: Map<string, number>;
  liveIn: Map<string, Mql>;
  from: number;
  to: number;
  examples: number;
}

const rate = (a: number, b: number) => (b === 0 ? null : a / b);

function result(
  label: string,
  first: Map<string, number>,
  inPeriod: Map<string, Mql>,
  c: Context,
): ModelResult {
  const weeks = new Map<string, number>();
  let reached = 0;
  let observable = 0;
  let sal = 0;
  let sql = 0;
  for (const [id, m] of inPeriod) {
    const w = weekOf(m.at);
    weeks.set(w, (weeks.get(w) ?? 0) + 1);
    const outcome = c.outcomes.get(id);
    if (outcome !== undefined && outcome >= m.at) reached++;
    const f = c.facts.get(id);
    if (c.liveIn.has(id) && f) {
      observable++;
      if (f.sal) sal++;
      if (f.sql) sql++;
    }
  }
  let outcomes = 0;
  let qualified = 0;
  const leadDays: number[] = [];
  for (const [id, at] of c.outcomes) {
    if (at < c.from || at >= c.to) continue;
    outcomes++;
    const mine = first.get(id);
    if (mine === undefined || mine > at) continue;
    qualified++;
    const live = c.liveFirst.get(id);
    if (live !== undefined && live <= at) leadDays.push((mine - live) / DAY);
  }
  leadDays.sort((a, b) => a - b);
  const example = (id: string, m: Mql): MqlExample => ({
    leadId: id,
    email: c.facts.get(id)?.email ?? null,
    at: m.at,
    reason: m.reason,
  });
  const adds = [...inPeriod].filter(([id]) => !c.liveIn.has(id));
  const drops = [...c.liveIn].filter(([id]) => !inPeriod.has(id));
  const byTime = (a: [string, Mql], b: [string, Mql]) => a[1].at - b[1].at || a[0].localeCompare(b[0]);
  return {
    label,
    mqls: inPeriod.size,
    byWeek: [...weeks].sort(([a], [b]) => (a < b ? -1 : 1)).map(([week, n]) => ({ week, mqls: n })),
    precision: { reached, rate: rate(reached, inPeriod.size) },
    handoff: {
      observable,
      sal,
      sql,
      salRate: rate(sal, observable),
      sqlRate: rate(sql, observable),
      unobservable: inPeriod.size - observable,
    },
    recall: { outcomes, qualified, rate: rate(qualified, outcomes) },
    leadTime: {
      leads: leadDays.length,
      medianDays: leadDays.length === 0 ? null : median(leadDays),
      earlier: leadDays.filter((d) => d < 0).length,
      later: leadDays.filter((d) => d > 0).length,
      same: leadDays.filter((d) => d === 0).length,
    },
    vsLive: {
      both: inPeriod.size - adds.length,
      adds: adds.length,
      drops: drops.length,
      addExamples: adds
        .sort(byTime)
        .slice(0, c.examples)
        .map(([id, m]) => example(id, m)),
      dropExamples: drops
        .sort(byTime)
        .slice(0, c.examples)
        .map(([id, m]) => example(id, m)),
    },
  };
}

const median = (xs: readonly number[]) => {
  const mid = Math.floor(xs.length / 2);
  return xs.length % 2 === 1 ? (xs[mid] as number) : ((xs[mid - 1] as number) + (xs[mid] as number)) / 2;
};
