import type { CountFeature, Feature } from "./dataset.js";

/**
 * Bins learnt from training rows only (inside each fold, so no cut sees held-out leads):
 * - numeric: cuts at quantiles of the training values (at most `maxBins` bins; each distinct
 *   value its own bin when there are fewer), bin b holding values in [cuts[b-1], cuts[b]);
 * - categorical: each value seen at least `minCount` times in training, the rest "(other)".
 * Missing values get a bin of their own, the last.
 */
export type Bins =
  | { kind: "numeric"; name: string; cuts: number[] }
  | { kind: "categorical"; name: string; categories: string[] };

export interface BinOptions {
  maxBins: number;
  minCount: number;
}

export const OTHER = "(other)";
export const MISSING = "(missing)";

/** A trait: a feature that is binned (counts are linear terms). */
export type BinnedFeature = Exclude<Feature, CountFeature>;

export function learnBins(feature: BinnedFeature, rows: readonly number[], o: BinOptions): Bins {
  if (feature.kind === "numeric") {
    const xs = rows.map((r) => feature.values[r]).filter((v): v is number => v !== null && v !== undefined);
    xs.sort((a, b) => a - b);
    const cuts: number[] = [];
    const distinct = [...new Set(xs)];
    if (distinct.length <= o.maxBins) cuts.push(...distinct.slice(1));
    else
      for (let b = 1; b < o.maxBins; b++) {
        const cut = xs[Math.floor((b * xs.length) / o.maxBins)] as number;
        // Heavy ties collapse quantiles into one cut.
        if (cut > (cuts[cuts.length - 1] ?? xs[0] ?? cut)) cuts.push(cut);
      }
    return { kind: "numeric", name: feature.name, cuts };
  }
  const counts = new Map<string, number>();
  for (const r of rows) {
    const v = feature.values[r];
    if (v !== null && v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const categories = [...counts]
    .filter(([, n]) => n >= o.minCount)
    .map(([v]) => v)
    .sort();
  return { kind: "categorical", name: feature.name, categories };
}

/** How many bins: the values' bins, then "(other)" (categorical), then "(missing)". */
export const binCount = (b: Bins) => (b.kind === "numeric" ? b.cuts.length + 2 : b.categories.length + 2);

/** Every row's bin under these bins. */
export function applyBins(b: Bins, feature: BinnedFeature): Uint16Array {
  const out = new Uint16Array(feature.values.length);
  const missing = binCount(b) - 1;
  if (b.kind === "numeric") {
    feature.values.forEach((v, i) => {
      out[i] = v === null || typeof v !== "number" ? missing : upperBound(b.cuts, v);
    });
  } else {
    const index = new Map(b.categories.map((c, i) => [c, i]));
    const other = b.categories.length;
    feature.values.forEach((v, i) => {
      out[i] = v === null ? missing : (index.get(String(v)) ?? other);
    });
  }
  return out;
}

/** The number of cuts ≤ v: the bin of v. */
function upperBound(cuts: readonly number[], v: number): number {
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((cuts[mid] as number) <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A readable label for each bin: a range, a category, "(other)" or "(missing)". */
export function binLabels(b: Bins): string[] {
  if (b.kind === "categorical") return [...b.categories, OTHER, MISSING];
  const labels: string[] = [];
  for (let i = 0; i <= b.cuts.length; i++) {
    const lo = b.cuts[i - 1];
    const hi = b.cuts[i];
    labels.push(lo === undefined ? `< ${hi ?? "∞"}` : hi === undefined ? `≥ ${lo}` : `${lo} – < ${hi}`);
  }
  return [...labels, MISSING];
}
