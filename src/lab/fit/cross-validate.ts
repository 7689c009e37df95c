import { applyBins, type BinOptions, type Bins, binCount, learnBins } from "./binning.js";
import {
  type AdditiveModel,
  type BinnedColumns,
  type BoostOptions,
  DEFAULT_BOOST,
  fitBoostedAdditive,
  predictLogit,
} from "./boosted-additive.js";
import { type CountFeature, type Dataset, rowsWhere, stratifiedFolds } from "./dataset.js";
import { fitLogistic } from "./logistic-baseline.js";
import { type MeanSd, meanSd, prAuc, rocAuc, sigmoid } from "./metrics.js";

/**
 * Cross-validation of the additive model and the logistic baseline on the same fixed-seed folds
 * (docs/model-lab.md). Bins, and the caps of event counts, are chosen inside each training fold. Pure.
 */

export const DEFAULT_BINS: BinOptions = { maxBins: 32, minCount: 10 };

export interface FoldResult {
  rocAuc: number;
  prAuc: number;
}

export interface CrossValidation {
  folds: number;
  additive: { rocAuc: MeanSd; prAuc: MeanSd; perFold: FoldResult[] };
  logistic: { rocAuc: MeanSd; prAuc: MeanSd; perFold: FoldResult[] };
  /** Every lead's held-out probability under the additive model (for the lift and calibration tables). */
  heldOut: Float64Array;
}

/** A count feature as a linear term: the cap chosen for it (null: none) and its column under that cap. */
export interface ChosenTerm {
  feature: CountFeature;
  cap: number | null;
  column: Float64Array;
}

/**
 * Bins learnt on `rows` for the traits, and every row's bins under them; a cap chosen on `rows`
 * for each event count, and its column.
 */
export function binColumns(
  d: Dataset,
  rows: readonly number[],
  o: BinOptions,
): { bins: Bins[]; terms: ChosenTerm[]; x: BinnedColumns } {
  const binned = d.features.filter((f) => f.kind !== "count");
  const bins = binned.map((f) => learnBins(f, rows, o));
  const terms = d.features
    .filter((f) => f.kind === "count")
    .map((f) => {
      const v = chooseCap(f, rows, d.labels);
      return { feature: f, cap: f.caps[v] ?? null, column: f.values[v] as Float64Array };
    });
  return {
    bins,
    terms,
    x: {
      bins: binned.map((f, j) => applyBins(bins[j] as Bins, f)),
      sizes: bins.map(binCount),
      ordered: bins.map((b) => b.kind === "numeric"),
      linear: terms.map((t) => t.column),
      nonNegative: terms.map((t) => t.cap !== null),
    },
  };
}

/**
 * The cap under which a count goes best with the label on these rows (the largest squared
 * correlation). A count that goes against the label has no cap: its points per event are
 * negative, and the engine caps positive points only.
 */
export function chooseCap(f: CountFeature, rows: readonly number[], labels: ArrayLike<number>): number {
  const uncapped = f.caps.indexOf(null);
  let best = uncapped;
  let bestR2 = 0;
  f.values.forEach((col, v) => {
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let sxy = 0;
    let syy = 0;
    for (const r of rows) {
      const x = col[r] as number;
      const y = labels[r] as number;
      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
      syy += y * y;
    }
    const n = rows.length;
    const cov = sxy - (sx * sy) / n;
    const vx = sxx - (sx * sx) / n;
    const vy = syy - (sy * sy) / n;
    if (cov <= 0 || vx <= 0 || vy <= 0) return;
    const r2 = (cov * cov) / (vx * vy);
    if (r2 > bestR2) {
      bestR2 = r2;
      best = v;
    }
  });
  return best;
}

export function fitAdditive(
  d: Dataset,
  rows: readonly number[],
  bins: BinOptions = DEFAULT_BINS,
  boost: BoostOptions = DEFAULT_BOOST,
): { bins: Bins[]; terms: ChosenTerm[]; x: BinnedColumns; model: AdditiveModel } {
  const b = binColumns(d, rows, bins);
  return { ...b, model: fitBoostedAdditive(b.x, rows, d.labels, boost) };
}

/** One fold's held-out log-odds, under the additive model and under the logistic baseline. */
export interface FoldOutput {
  fold: number;
  z: Float64Array;
  lz: Float64Array;
}

/** Fits on every fold but `f` and predicts fold `f` (its rows in order). */
export function runFold(
  d: Dataset,
  folds: Uint8Array,
  f: number,
  bins: BinOptions = DEFAULT_BINS,
  boost: BoostOptions = DEFAULT_BOOST,
): FoldOutput {
  const train = rowsWhere(folds, (x) => x !== f);
  const test = rowsWhere(folds, (x) => x === f);
  const fitted = fitAdditive(d, train, bins, boost);
  return {
    fold: f,
    z: predictLogit(fitted.model, fitted.x, test),
    lz: fitLogistic(d, train).predictLogit(test),
  };
}

/** The folds' outputs (in any order) as the cross-validation's figures. */
export function summarizeFolds(
  d: Dataset,
  folds: Uint8Array,
  outputs: readonly FoldOutput[],
): CrossValidation {
  const heldOut = new Float64Array(d.labels.length);
  const additive: FoldResult[] = [];
  const logistic: FoldResult[] = [];
  for (const out of [...outputs].sort((a, b) => a.fold - b.fold)) {
    const test = rowsWhere(folds, (x) => x === out.fold);
    const labels = test.map((r) => d.labels[r] as number);
    test.forEach((r, i) => {
      heldOut[r] = sigmoid(out.z[i] as number);
    });
    additive.push({ rocAuc: rocAuc(out.z, labels), prAuc: prAuc(out.z, labels) });
    logistic.push({ rocAuc: rocAuc(out.lz, labels), prAuc: prAuc(out.lz, labels) });
  }
  const summary = (rs: FoldResult[]) => ({
    rocAuc: meanSd(rs.map((r) => r.rocAuc)),
    prAuc: meanSd(rs.map((r) => r.prAuc)),
    perFold: rs,
  });
  return { folds: outputs.length, additive: summary(additive), logistic: summary(logistic), heldOut };
}

export function crossValidate(
  d: Dataset,
  k = 5,
  seed = 42,
  bins: BinOptions = DEFAULT_BINS,
  boost: BoostOptions = DEFAULT_BOOST,
): CrossValidation {
  const folds = stratifiedFolds(d.labels, k, seed);
  return summarizeFolds(
    d,
    folds,
    Array.from({ length: k }, (_, f) => runFold(d, folds, f, bins, boost)),
  );
}
