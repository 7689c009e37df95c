import { type CompiledModel, type Input, replayInIngestOrder, type Transition } from "../../engine/index.js";

/**
 * What a backtest keeps of each lead (pure; run on the backtest's worker threads): its events, and
 * under each model the time of its first MQL ever and of its first MQL in the period, from the
 * engine's ingest-order replay of its stored inputs up to the period's end.
 */

/** The first MQL ever and the first at or after `from` and before `to`, with its reason. */
export function firstMqls(
  ts: readonly Transition[],
  from: number,
  to: number,
): { first: number | null; inPeriod: { at: number; reason: string } | null } {
  let first: number | null = null;
  let inPeriod: { at: number; reason: string } | null = null;
  for (const t of ts) {
    if (t.to !== "mql") continue;
    if (first === null) first = t.at;
    if (inPeriod === null && t.at >= from && t.at < to) inPeriod = { at: t.at, reason: t.reason };
  }
  return { first, inPeriod };
}

/** Numbers per lead: its event count, then per model the first MQL and the first in the period. */
export const stride = (models: number) => 1 + 2 * models;

/**
 * Per lead (its inputs as the JSON text of an array, as stored), `stride(models.length)` numbers:
 * its event count, then for each model its first MQL ever and its first in the period (NaN: none).
 */
export function leadMqls(
  models: readonly CompiledModel[],
  leads: readonly string[],
  from: number,
  to: number,
): Float64Array {
  const k = stride(models.length);
  const out = new Float64Array(leads.length * k).fill(Number.NaN);
  leads.forEach((text, i) => {
    const inputs = JSON.parse(text) as Input[];
    out[i * k] = inputs.length;
    models.forEach((m, j) => {
      const r = firstMqls(replayInIngestOrder(m, inputs, to - 1).transitions, from, to);
      if (r.first !== null) out[i * k + 1 + 2 * j] = r.first;
      if (r.inPeriod !== null) out[i * k + 2 + 2 * j] = r.inPeriod.at;
    });
  });
  return out;
}
