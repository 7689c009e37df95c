import { QualifyError } from "../../errors.js";
import type { BinOptions, Bins } from "./binning.js";
import {
  type AdditiveModel,
  type BinnedColumns,
  type BoostOptions,
  DEFAULT_BOOST,
} from "./boosted-additive.js";
import { type CrossValidation, crossValidate, DEFAULT_BINS, fitAdditive } from "./cross-validate.js";
import type { Dataset } from "./dataset.js";
import {
  type CalibrationRow,
  calibrationTable,
  type DecileRow,
  decileTable,
  type MeanSd,
} from "./metrics.js";
import {
  type CountRuleTerm,
  POINTS_PER_DOUBLING,
  pointsTable,
  slopePoints,
  toModelYaml,
} from "./to-model.js";

/**
 * `qualify model fit` (docs/model-lab.md): cross-validates the additive model beside the logistic
 * baseline on the same folds, fits it on every lead, and writes it as a model YAML with a
 * suggested MQL threshold. Pure: the caller loads the dataset.
 */

export const MIN_OUTCOMES = 200;

export interface FitOptions {
  outcome: string;
  folds: number;
  seed: number;
  bins: BinOptions;
  boost: BoostOptions;
}

export const DEFAULT_FIT: Omit<FitOptions, "outcome"> = {
  folds: 5,
  seed: 42,
  bins: DEFAULT_BINS,
  boost: DEFAULT_BOOST,
};

export interface FeatureSummary {
  name: string;
  kind: "numeric" | "categorical" | "count";
  /** Points between its lowest and highest bin (a count: between none and the most any lead has): how much it can move a score. */
  range: number;
}

export interface FitReport {
  outcome: string;
  leads: number;
  converted: number;
  features: FeatureSummary[];
  crossValidation: {
    folds: number;
    seed: number;
    additive: { rocAuc: MeanSd; prAuc: MeanSd };
    logistic: { rocAuc: MeanSd; prAuc: MeanSd };
  };
  /** From every lead's held-out probability. */
  deciles: DecileRow[];
  calibration: CalibrationRow[];
  /** The suggested MQL threshold (best F1 over every lead), and what it gives. */
  threshold: { points: number; mqls: number; precision: number; recall: number };
  /** The fitted model, as YAML the engine runs. */
  model: string;
}

/** Refuses a dataset too small to learn from (fewer than `MIN_OUTCOMES` of either label, or no feature). */
export function checkEnough(d: Dataset, o: Pick<FitOptions, "outcome">): void {
  const converted = d.labels.reduce((a, b) => a + b, 0);
  const others = d.labels.length - converted;
  if (converted < MIN_OUTCOMES || others < MIN_OUTCOMES)
    throw new QualifyError(
      "NOT_ENOUGH_DATA",
      `fitting needs at least ${MIN_OUTCOMES} leads that reached '${o.outcome}' and ${MIN_OUTCOMES} that did not; there are ${converted} and ${others}`,
      [{ path: "outcome", message: `${converted} leads reached it, ${others} did not` }],
    );
  if (d.features.length === 0)
    throw new QualifyError("NOT_ENOUGH_DATA", "no trait is left to learn from", [
      { path: "exclude", message: "every feature is excluded" },
    ]);
}

/**
 * Each row's score as the engine gives it at the row's cutoff under the model's YAML: its bins'
 * points and its counts' points, rounded as the YAML has them.
 */
export function pointsOf(m: AdditiveModel, x: BinnedColumns, rows: readonly number[]): number[] {
  const table = pointsTable(m);
  const perEvent = slopePoints(m);
  return rows.map(
    (i) =>
      table.reduce((s, pts, j) => s + (pts[(x.bins[j] as Uint16Array)[i] as number] as number), 0) +
      perEvent.reduce((s, p, j) => s + p * ((x.linear[j] as Float64Array)[i] as number), 0),
  );
}

/** The fit on every lead, as the report needs it: small enough to pass between threads. */
export interface FinalFit {
  model: AdditiveModel;
  bins: Bins[];
  terms: CountRuleTerm[];
  features: FeatureSummary[];
  threshold: FitReport["threshold"];
}

export function finalFit(d: Dataset, o: FitOptions): FinalFit {
  const rows = Array.from({ length: d.labels.length }, (_, i) => i);
  const final = fitAdditive(d, rows, o.bins, o.boost);
  const table = pointsTable(final.model);
  const perEvent = slopePoints(final.model);
  const scores = pointsOf(final.model, final.x, rows);
  return {
    model: final.model,
    bins: final.bins,
    terms: final.terms.map((t) => ({ feature: { name: t.feature.name, term: t.feature.term }, cap: t.cap })),
    features: [
      ...final.bins.map((b, j) => ({
        name: b.name,
        kind: b.kind,
        range: Math.max(...(table[j] as number[])) - Math.min(...(table[j] as number[])),
      })),
      ...final.terms.map((t, j) => ({
        name: t.feature.name,
        kind: "count" as const,
        range: Math.abs(perEvent[j] as number) * t.column.reduce((a, b) => Math.max(a, b), 0),
      })),
    ].sort((a, b) => b.range - a.range),
    threshold: bestF1(scores, d.labels),
  };
}

/** The report from the cross-validation and the final fit (computed here, or in worker threads). */
export function assembleReport(d: Dataset, o: FitOptions, cv: CrossValidation, final: FinalFit): FitReport {
  const converted = d.labels.reduce((a, b) => a + b, 0);
  return {
    outcome: o.outcome,
    leads: d.labels.length,
    converted,
    features: final.features,
    crossValidation: {
      folds: o.folds,
      seed: o.seed,
      additive: { rocAuc: cv.additive.rocAuc, prAuc: cv.additive.prAuc },
      logistic: { rocAuc: cv.logistic.rocAuc, prAuc: cv.logistic.prAuc },
    },
    deciles: decileTable(cv.heldOut, d.labels),
    calibration: calibrationTable(cv.heldOut, d.labels),
    threshold: final.threshold,
    model: toModelYaml(final.model, final.bins, final.terms, {
      name: `fitted-${o.outcome}`,
      description: `Learnt from ${d.labels.length} leads (${converted} reached ${o.outcome}); cross-validated ROC AUC ${cv.additive.rocAuc.mean.toFixed(3)} ± ${cv.additive.rocAuc.sd.toFixed(3)}. Points: ${POINTS_PER_DOUBLING} double the odds.`,
      threshold: final.threshold.points,
    }),
  };
}

/** The whole fit in this thread (`run-fit.ts` spreads it over worker threads). */
export function fitReport(d: Dataset, o: FitOptions): FitReport {
  checkEnough(d, o);
  return assembleReport(d, o, crossValidate(d, o.folds, o.seed, o.bins, o.boost), finalFit(d, o));
}

/** The score threshold (MQL at or above it) with the best F1 over these leads. */
function bestF1(scores: number[], labels: ArrayLike<number>): FitReport["threshold"] {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i] as number;
  const order = scores.map((s, i) => [s, labels[i] as number] as const).sort((a, b) => b[0] - a[0]);
  let tp = 0;
  let best = { points: order[0]?.[0] ?? 0, mqls: 0, precision: 0, recall: 0, f1: -1 };
  for (let k = 0; k < order.length; k++) {
    tp += (order[k] as readonly [number, number])[1];
    const s = (order[k] as readonly [number, number])[0];
    if (k + 1 < order.length && (order[k + 1] as readonly [number, number])[0] === s) continue;
    const precision = tp / (k + 1);
    const recall = tp / positives;
    const f1 = (2 * precision * recall) / (precision + recall || 1);
    if (f1 > best.f1) best = { points: s, mqls: k + 1, precision, recall, f1 };
  }
  const { f1: _, ...out } = best;
  return out;
}
