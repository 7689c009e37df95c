/**
 * How well scores rank and how well probabilities match (docs/model-lab.md). Pure.
 * Labels are 1 (converted) or 0.
 */

/** ROC AUC: the chance a random positive scores above a random negative (ties count half). */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const order = sortedIndex(scores, true);
  let pos = 0;
  let neg = 0;
  for (let i = 0; i < labels.length; i++) labels[i] === 1 ? pos++ : neg++;
  if (pos === 0 || neg === 0) return Number.NaN;
  // Mann–Whitney U from the ranks of the positives, averaging the ranks of ties.
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    const s = scores[order[i] as number] as number;
    while (j < order.length && scores[order[j] as number] === s) j++;
    const rank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (labels[order[k] as number] === 1) rankSum += rank;
    i = j;
  }
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** PR AUC as average precision: the mean of the precision at each positive, best scores first. */
export function prAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const order = sortedIndex(scores, false);
  let tp = 0;
  let seen = 0;
  let sum = 0;
  let pos = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === 1) pos++;
  if (pos === 0) return Number.NaN;
  for (let i = 0; i < order.length; ) {
    // Ties are one threshold: the precision after all of them applies to each.
    let j = i;
    const s = scores[order[i] as number] as number;
    let hits = 0;
    while (j < order.length && scores[order[j] as number] === s) {
      if (labels[order[j] as number] === 1) hits++;
      j++;
    }
    seen += j - i;
    tp += hits;
    sum += hits * (tp / seen);
    i = j;
  }
  return sum / pos;
}

/** Row indices by score, ascending or descending. */
function sortedIndex(scores: ArrayLike<number>, ascending: boolean): number[] {
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  const sign = ascending ? 1 : -1;
  return idx.sort((a, b) => sign * ((scores[a] as number) - (scores[b] as number)));
}

export interface DecileRow {
  /** 1: the best-scored tenth. */
  decile: number;
  leads: number;
  converted: number;
  rate: number;
  /** This decile's rate over the overall rate. */
  lift: number;
  /** Share of all conversions in this decile and the better ones. */
  cumulativeCapture: number;
}

/** The lift table: leads in ten equal groups by score, best first. */
export function decileTable(scores: ArrayLike<number>, labels: ArrayLike<number>): DecileRow[] {
  const order = sortedIndex(scores, false);
  const n = order.length;
  let total = 0;
  for (let i = 0; i < n; i++) total += labels[i] as number;
  const base = total / n;
  const rows: DecileRow[] = [];
  let captured = 0;
  for (let d = 0; d < 10; d++) {
    const from = Math.floor((d * n) / 10);
    const to = Math.floor(((d + 1) * n) / 10);
    let converted = 0;
    for (let k = from; k < to; k++) converted += labels[order[k] as number] as number;
    captured += converted;
    const rate = to > from ? converted / (to - from) : 0;
    rows.push({
      decile: d + 1,
      leads: to - from,
      converted,
      rate,
      lift: base > 0 ? rate / base : 0,
      cumulativeCapture: total > 0 ? captured / total : 0,
    });
  }
  return rows;
}

export interface CalibrationRow {
  /** The predicted probability range [from, to). */
  from: number;
  to: number;
  leads: number;
  predicted: number;
  observed: number;
}

/** Predicted against observed conversion, in ten probability bands (empty bands left out). */
export function calibrationTable(probs: ArrayLike<number>, labels: ArrayLike<number>): CalibrationRow[] {
  const rows = Array.from({ length: 10 }, (_, b) => ({
    from: b / 10,
    to: (b + 1) / 10,
    leads: 0,
    p: 0,
    y: 0,
  }));
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i] as number;
    const r = rows[Math.min(9, Math.floor(p * 10))] as (typeof rows)[number];
    r.leads++;
    r.p += p;
    r.y += labels[i] as number;
  }
  return rows
    .filter((r) => r.leads > 0)
    .map((r) => ({
      from: r.from,
      to: r.to,
      leads: r.leads,
      predicted: r.p / r.leads,
      observed: r.y / r.leads,
    }));
}

export interface MeanSd {
  mean: number;
  sd: number;
}

/** Mean and sample standard deviation. */
export function meanSd(xs: readonly number[]): MeanSd {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.length > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1) : 0;
  return { mean, sd: Math.sqrt(v) };
}

export const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
