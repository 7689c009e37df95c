import { Random } from "../../analytics/random.js";

/**
 * A labelled table for fitting (docs/model-lab.md): one column per feature, one label per lead
 * (1: reached the outcome). A numeric feature's missing values are null; so are a categorical's.
 * A count feature is a lead's matching events within a window, as the engine counts them under
 * each of several caps (`event-counts.ts`); the fit picks one cap and learns points per event.
 */
export type Feature =
  | { name: string; kind: "numeric"; values: (number | null)[] }
  | { name: string; kind: "categorical"; values: (string | null)[] }
  | CountFeature;

/** What a count feature counts: the events a matcher (as YAML) matches within a lookback window. */
export interface CountTerm {
  /** Where the matcher came from: a rule of the active model, an event name, or every page. */
  source: string;
  match: unknown;
  window: string;
}

export interface CountFeature {
  name: string;
  kind: "count";
  term: CountTerm;
  /** Caps (most events that earn points within the window); null: no cap. */
  caps: (number | null)[];
  /** Per cap, each lead's count. */
  values: Float64Array[];
}

export interface Dataset {
  features: Feature[];
  labels: Uint8Array;
}

/**
 * Stratified folds with a fixed seed: each lead's fold (0…k-1), converters and the rest each
 * dealt out evenly, so every fold has the overall rate.
 */
export function stratifiedFolds(labels: ArrayLike<number>, k: number, seed: number): Uint8Array {
  const rng = new Random(seed);
  const fold = new Uint8Array(labels.length);
  for (const label of [0, 1]) {
    const rows: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === label) rows.push(i);
    // Fisher–Yates, then deal.
    for (let i = rows.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [rows[i], rows[j]] = [rows[j] as number, rows[i] as number];
    }
    rows.forEach((row, n) => {
      fold[row] = n % k;
    });
  }
  return fold;
}

/** The rows where `keep(fold)` holds. */
export const rowsWhere = (fold: Uint8Array, keep: (f: number) => boolean): number[] => {
  const out: number[] = [];
  for (let i = 0; i < fold.length; i++) if (keep(fold[i] as number)) out.push(i);
  return out;
};
