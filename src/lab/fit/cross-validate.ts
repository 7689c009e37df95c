import { applyBins, type BinOptions, type Bins, binCount, learnBins } from "./binning.js";
import {
  type AdditiveModel,
  type BinnedColumns,
  type BoostOptions,
  DEFAULT_BOOST,
  fitBoostedAdditive,
  predictLogit,
} from "./boosted-additive.js";
import { type Dataset, rowsWhere, stratifiedFolds } from "./dataset.js";
import { fitLogistic } from "./logistic-baseline.js";
import { type MeanSd, meanSd, prAuc, rocAuc, sigmoid } from "./metrics.js";

/**
 * Cross-validation of the additive model and the logistic baseline on the same fixed-seed folds
 * (docs/model-lab.md). Bins are learnt inside each training fold. Pure.
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

/** Bins learnt on `rows`, and every row's bins under them. */
export function binColumns(
  d: Dataset,
  rows: readonly number[],
  o: BinOptions,
): { bins: Bins[]; x: BinnedColumns } {
  const bins = d.features.map((f) => learnBins(f, rows, o));
  return {
    bins,
    x: {
      bins: d.features.map((f, j) => applyBins(bins[j] as Bins, f)),
      sizes: bins.map(binCount),
      ordered: bins.map((b) => b.kind === "numeric"),
    },
  };
}

export function fitAdditive(
  d: Dataset,
  rows: readonly number[],
  bins: BinOptions = DEFAULT_BINS,
  boost: BoostOptions = DEFAULT_BOOST,
): { bins: Bins[]; x: BinnedColumns; model: AdditiveModel } {
  const b = binColumns(d, rows, bins);
  return { ...b, model: fitBoostedAdditive(b.x, rows, d.labels, boost) };
}

export function crossValidate(
  d: Dataset,
  k = 5,
  seed = 42,
  bins: BinOptions = DEFAULT_BINS,
  boost: BoostOptions = DEFAULT_BOOST,
): CrossValidation {
  const fold = stratifiedFolds(d.labels, k, seed);
  const heldOut = new Float64Array(d.labels.length);
  const additive: FoldResult[] = [];
  const logistic: FoldResult[] = [];
  for (let f = 0; f < k; f++) {
    const train = rowsWhere(fold, (x) => x !== f);
    const test = rowsWhere(fold, (x) => x === f);
    const labels = test.map((r) => d.labels[r] as number);
    const fitted = fitAdditive(d, train, bins, boost);
    const z = predictLogit(fitted.model, fitted.x, test);
    test.forEach((r, i) => {
      heldOut[r] = sigmoid(z[i] as number);
    });
    additive.push({ rocAuc: rocAuc(z, labels), prAuc: prAuc(z, labels) });
    const lz = fitLogistic(d, train).predictLogit(test);
    logistic.push({ rocAuc: rocAuc(lz, labels), prAuc: prAuc(lz, labels) });
  }
  const summary = (rs: FoldResult[]) => ({
    rocAuc: meanSd(rs.map((r) => r.rocAuc)),
    prAuc: meanSd(rs.map((r) => r.prAuc)),
    perFold: rs,
  });
  return { folds: k, additive: summary(additive), logistic: summary(logistic), heldOut };
}
