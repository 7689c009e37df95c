import { stringify } from "yaml";
import { type Bins, binLabels } from "./binning.js";
import type { AdditiveModel } from "./boosted-additive.js";
import type { CountFeature } from "./dataset.js";

/**
 * A fitted additive model as a scoring model the engine runs unchanged (docs/model-lab.md): one
 * fit rule per trait in the group `predicted`, with a case per bin (bins of equal points
 * merged) giving its points; one engagement rule per event count, its points per event within
 * the count's window (`decay: { lookback }`), capped as the count was. Points are log-odds scaled so that `POINTS_PER_DOUBLING` points
 * double a lead's odds of the outcome; a lead's score is its log-odds up to a constant, and the
 * MQL condition is a threshold on it. Pure.
 */

export const POINTS_PER_DOUBLING = 10;
const SCALE = POINTS_PER_DOUBLING / Math.LN2;
export const PREDICTED_GROUP = "predicted";

type Condition = Record<string, unknown>;
interface Case {
  label: string;
  when: Condition;
  points: number;
}

const hundredths = (v: number) => Math.round(v * 100) / 100;
/** Points of each bin, rounded to hundredths as the engine does. */
export const binPoints = (shape: Float64Array) => Array.from(shape, (v) => hundredths(v * SCALE));
/** Points per event of each linear term. */
export const slopePoints = (m: AdditiveModel) => Array.from(m.slopes, (v) => hundredths(v * SCALE));

/** The cases of one feature: its bins with nonzero points, adjacent numeric bins of equal points merged. */
function cases(bins: Bins, points: number[]): Case[] {
  const trait = bins.name;
  const labels = binLabels(bins);
  const out: Case[] = [];
  const missing = points[points.length - 1] as number;
  if (bins.kind === "numeric") {
    const edges = [Number.NEGATIVE_INFINITY, ...bins.cuts, Number.POSITIVE_INFINITY];
    for (let b = 0; b < points.length - 1; ) {
      let e = b + 1;
      while (e < points.length - 1 && points[e] === points[b]) e++;
      const lo = edges[b] as number;
      const hi = edges[e] as number;
      const when: Condition = { trait };
      if (Number.isFinite(lo)) when.gte = lo;
      if (Number.isFinite(hi)) when.lt = hi;
      if (!Number.isFinite(lo) && !Number.isFinite(hi)) when.exists = true;
      if (points[b] !== 0)
        out.push({
          label: e - b === 1 ? (labels[b] as string) : rangeLabel(lo, hi),
          when,
          points: points[b] as number,
        });
      b = e;
    }
  } else {
    bins.categories.forEach((c, b) => {
      if (points[b] !== 0) out.push({ label: c, when: { trait, equals: c }, points: points[b] as number });
    });
    const other = points[bins.categories.length] as number;
    if (other !== 0)
      out.push({
        label: "(other)",
        when: { all: [{ trait, exists: true }, { not: { trait, in: bins.categories } }] },
        points: other,
      });
  }
  if (missing !== 0) out.push({ label: "(missing)", when: { trait, exists: false }, points: missing });
  return out;
}

const rangeLabel = (lo: number, hi: number) =>
  !Number.isFinite(lo) ? `< ${hi}` : !Number.isFinite(hi) ? `≥ ${lo}` : `${lo} – < ${hi}`;

/** A rule id from a trait name: `counts.total_visits` → `counts-total_visits`. */
const ruleId = (name: string) => name.toLowerCase().replace(/[^a-z0-9_-]+/g, "-");

/** What an event count's rule needs: its name, what it counts, and the cap chosen for it. */
export interface CountRuleTerm {
  feature: Pick<CountFeature, "name" | "term">;
  cap: number | null;
}

/** An event count's engagement rule: its points per event within its window, capped as it was counted. */
function countRule(t: CountRuleTerm, points: number) {
  const { term } = t.feature;
  return {
    id: ruleId(t.feature.name),
    group: PREDICTED_GROUP,
    description: `${term.source} within ${term.window}${t.cap === null ? "" : `, at most ${t.cap} at a time`}`,
    match: term.match,
    points,
    ...(t.cap === null ? {} : { cap: { points: hundredths(points * t.cap), window: term.window } }),
    decay: { lookback: term.window },
  };
}

export function toModelYaml(
  m: AdditiveModel,
  bins: readonly Bins[],
  terms: readonly CountRuleTerm[],
  o: { name: string; description: string; threshold: number },
): string {
  const perEvent = slopePoints(m);
  const rules = terms.flatMap((t, j) => (perEvent[j] === 0 ? [] : [countRule(t, perEvent[j] as number)]));
  const fit = bins
    .map((b, j) => ({
      id: ruleId(b.name),
      group: PREDICTED_GROUP,
      cases: cases(b, binPoints(m.shapes[j] as Float64Array)),
    }))
    .filter((r) => r.cases.length > 0);
  const doc = {
    name: o.name,
    version: 1,
    description: o.description,
    groups: { [PREDICTED_GROUP]: {} },
    ...(rules.length > 0 ? { rules } : {}),
    fit,
    qualification: { mql: { score: PREDICTED_GROUP, gte: o.threshold } },
  };
  return stringify(doc, { lineWidth: 0 });
}

/** Each feature's points per bin, as the YAML gives them. */
export const pointsTable = (m: AdditiveModel) => m.shapes.map(binPoints);
