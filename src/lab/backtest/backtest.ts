import type { Queryable } from "../../db/database.js";
import { type CompiledModel, replayInIngestOrder } from "../../engine/index.js";
import { weekOf } from "../../pipeline/publish-model.js";
import { leadInputs, readsContext, streamLeadTexts } from "../../pipeline/rescore-stream.js";
import { outcomeTimes } from "../outcome-times.js";
import { firstMqls, stride } from "./lead-mqls.js";
import { replayPool } from "./replay-pool.js";

/**
 * A backtest (docs/model-lab.md): stored history replayed under draft models, lead by lead, with the
 * engine's ingest-order replay (the order live processing saw the inputs in), without touching live
 * state. Each model's MQLs in the period are compared with the stored (live) ones and with outcomes.
 *
 * Memory stays small at millions of leads: leads are numbered as they stream, and what is kept per
 * lead is a few numbers in typed arrays (MQL times per model, the live MQL times, handoff flags).
 * Reasons and emails are looked up afterwards for the few example leads only, replaying those again.
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

/** Per lead, by its number in the stream: NaN where there is none. */
interface Times {
  first: Float64Array;
  inPeriod: Float64Array;
}

/** The stored (live) side, numbered as the stream numbered the leads. */
interface Live extends Times {
  sal: Uint8Array;
  sql: Uint8Array;
}

const nans = (n: number) => new Float64Array(n).fill(Number.NaN);

export async function backtest(
  q: Queryable,
  ws: string,
  models: readonly BacktestModel[],
  o: { from: number; to: number; examples?: number; threads?: number },
): Promise<BacktestReport> {
  const outcomes = await outcomeTimes(q, ws, "opportunity");
  const context = models.some((m) => readsContext(m.model.spec));
  const ids: string[] = [];
  const pages: Promise<Float64Array>[] = [];
  const threads = o.threads ?? 0;
  const pool = replayPool(
    models.map((m) => m.model),
    o,
    threads,
  );
  let results: Float64Array[];
  try {
    for await (const page of streamLeadTexts(q, ws, { context })) {
      for (const lead of page) ids.push(lead.id);
      pages.push(pool.replay(page.map((lead) => lead.inputs)));
      // At most two pages per thread wait or run; the next page is being read meanwhile.
      const waitFor = pages[pages.length - 1 - 2 * Math.max(1, threads)];
      if (waitFor) await waitFor;
    }
    results = await Promise.all(pages);
  } finally {
    await pool.close();
  }
  const n = ids.length;
  const k = stride(models.length);
  const mine: Times[] = models.map(() => ({ first: nans(n), inPeriod: nans(n) }));
  let events = 0;
  let i = 0;
  for (const r of results)
    for (let at = 0; at < r.length; at += k, i++) {
      events += r[at] as number;
      mine.forEach((t, j) => {
        t.first[i] = r[at + 1 + 2 * j] as number;
        t.inPeriod[i] = r[at + 2 + 2 * j] as number;
      });
    }
  const index = new Map(ids.map((id, j) => [id, j]));
  const live = await liveTimes(q, ws, index, o.from, o.to);
  const c: Context = { ids, index, outcomes, live, from: o.from, to: o.to, examples: o.examples ?? 5 };
  const report = {
    from: new Date(o.from).toISOString(),
    to: new Date(o.to).toISOString(),
    leads: n,
    events,
    live: result("live (stored)", live, c),
    models: models.map((m, j) => result(m.label, mine[j] as Times, c)),
  };
  await describeExamples(q, ws, models, report, context, o);
  return report;
}

/** Per lead: its stored (live) MQLs, and whether sales accepted (SAL) and converted (SQL) it. */
async function liveTimes(
  q: Queryable,
  ws: string,
  index: Map<string, number>,
  from: number,
  to: number,
): Promise<Live> {
  const rows = await q.query<{
    lead_id: string;
    first_mql: number | string | null;
    mql_at: number | string | null;
    sal: boolean;
    sql: boolean;
  }>(
    `select lead_id, min(at) filter (where to_stage = 'mql') as first_mql,
       min(at) filter (where to_stage = 'mql' and at >= $2 and at < $3) as mql_at,
       coalesce(bool_or(to_stage in ('sal', 'sql', 'opportunity', 'customer')), false) as sal,
       coalesce(bool_or(to_stage in ('sql', 'opportunity', 'customer')), false) as sql
     from transitions where workspace_id = $1 group by lead_id`,
    [ws, from, to],
  );
  const n = index.size;
  const live: Live = { first: nans(n), inPeriod: nans(n), sal: new Uint8Array(n), sql: new Uint8Array(n) };
  for (const r of rows) {
    const i = index.get(r.lead_id);
    if (i === undefined) continue;
    if (r.first_mql !== null) live.first[i] = Number(r.first_mql);
    if (r.mql_at !== null) live.inPeriod[i] = Number(r.mql_at);
    live.sal[i] = r.sal ? 1 : 0;
    live.sql[i] = r.sql ? 1 : 0;
  }
  return live;
}

interface Context {
  ids: readonly string[];
  index: Map<string, number>;
  outcomes: Map<string, number>;
  live: Live;
  from: number;
  to: number;
  examples: number;
}

const rate = (a: number, b: number) => (b === 0 ? null : a / b);
const has = (x: number | undefined): x is number => x !== undefined && !Number.isNaN(x);

function result(label: string, t: Times, c: Context): ModelResult {
  const weeks = new Map<string, number>();
  let mqls = 0;
  let reached = 0;
  let observable = 0;
  let sal = 0;
  let sql = 0;
  let both = 0;
  const adds: number[] = [];
  const drops: number[] = [];
  t.inPeriod.forEach((at, i) => {
    const liveIn = has(c.live.inPeriod[i]);
    if (Number.isNaN(at)) {
      if (liveIn) drops.push(i);
      return;
    }
    mqls++;
    const w = weekOf(at);
    weeks.set(w, (weeks.get(w) ?? 0) + 1);
    const outcome = c.outcomes.get(c.ids[i] as string);
    if (outcome !== undefined && outcome >= at) reached++;
    if (liveIn) {
      both++;
      observable++;
      sal += c.live.sal[i] as number;
      sql += c.live.sql[i] as number;
    } else adds.push(i);
  });
  let outcomes = 0;
  let qualified = 0;
  const leadDays: number[] = [];
  for (const [id, at] of c.outcomes) {
    if (at < c.from || at >= c.to) continue;
    outcomes++;
    const i = c.index.get(id);
    const first = i === undefined ? undefined : t.first[i];
    if (!has(first) || first > at) continue;
    qualified++;
    const live = i === undefined ? undefined : c.live.first[i];
    if (has(live) && live <= at) leadDays.push((first - live) / DAY);
  }
  leadDays.sort((a, b) => a - b);
  const examples = (leads: number[], times: Float64Array): MqlExample[] =>
    leads
      .map((i) => ({ leadId: c.ids[i] as string, email: null, at: times[i] as number, reason: "" }))
      .sort((a, b) => a.at - b.at || a.leadId.localeCompare(b.leadId))
      .slice(0, c.examples);
  return {
    label,
    mqls,
    byWeek: [...weeks].sort(([a], [b]) => (a < b ? -1 : 1)).map(([week, n]) => ({ week, mqls: n })),
    precision: { reached, rate: rate(reached, mqls) },
    handoff: {
      observable,
      sal,
      sql,
      salRate: rate(sal, observable),
      sqlRate: rate(sql, observable),
      unobservable: mqls - observable,
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
      both,
      adds: adds.length,
      drops: drops.length,
      addExamples: examples(adds, t.inPeriod),
      dropExamples: examples(drops, c.live.inPeriod),
    },
  };
}

/**
 * The example leads' emails and reasons: an add's from replaying it again under its model, a drop's
 * the live MQL's stored reason.
 */
async function describeExamples(
  q: Queryable,
  ws: string,
  models: readonly BacktestModel[],
  report: BacktestReport,
  context: boolean,
  o: { from: number; to: number },
): Promise<void> {
  const adds = report.models.flatMap((r) => r.vsLive.addExamples);
  const drops = report.models.flatMap((r) => r.vsLive.dropExamples);
  const all = [...adds, ...drops];
  if (all.length === 0) return;
  const ids = [...new Set(all.map((e) => e.leadId))];
  const emails = await q.query<{ id: string; email: string | null }>(
    "select id, email from leads where workspace_id = $1 and id = any($2::text[])",
    [ws, ids],
  );
  const email = new Map(emails.map((r) => [r.id, r.email]));
  const dropReasons = await q.query<{ lead_id: string; at: number | string; reason: string }>(
    `select lead_id, at, reason from transitions
     where workspace_id = $1 and lead_id = any($2::text[]) and to_stage = 'mql' and at >= $3 and at < $4`,
    [ws, [...new Set(drops.map((e) => e.leadId))], o.from, o.to],
  );
  const inputs = await leadInputs(q, ws, [...new Set(adds.map((e) => e.leadId))], { context });
  for (const e of all) e.email = email.get(e.leadId) ?? null;
  for (const e of drops)
    e.reason = dropReasons.find((r) => r.lead_id === e.leadId && Number(r.at) === e.at)?.reason ?? "";
  report.models.forEach((r, j) => {
    const m = (models[j] as BacktestModel).model;
    for (const e of r.vsLive.addExamples) {
      const ts = replayInIngestOrder(m, inputs.get(e.leadId) ?? [], o.to - 1).transitions;
      e.reason = firstMqls(ts, o.from, o.to).inPeriod?.reason ?? "";
    }
  });
}

const median = (xs: readonly number[]) => {
  const mid = Math.floor(xs.length / 2);
  return xs.length % 2 === 1 ? (xs[mid] as number) : ((xs[mid - 1] as number) + (xs[mid] as number)) / 2;
};
