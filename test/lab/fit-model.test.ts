import { describe, expect, it } from "vitest";
import { Random } from "../../src/analytics/random.js";
import { evaluate, parseModel } from "../../src/engine/index.js";
import { DEFAULT_BOOST, predictLogit } from "../../src/lab/fit/boosted-additive.js";
import { crossValidate, fitAdditive } from "../../src/lab/fit/cross-validate.js";
import type { Dataset } from "../../src/lab/fit/dataset.js";
import { DEFAULT_FIT, fitReport } from "../../src/lab/fit/fit-report.js";
import { pointsTable, toModelYaml } from "../../src/lab/fit/to-model.js";
import { nestTraits } from "../../src/lab/import/lead-mapping.js";

/** Leads whose conversion depends on a role, a visit count (saturating) and noise. */
function synthetic(n: number, seed: number): Dataset {
  const rng = new Random(seed);
  const roles = ["engineer", "manager", "student", "executive"];
  const effect: Record<string, number> = { engineer: 0.5, manager: 1, student: -1.5, executive: 1.5 };
  const role: (string | null)[] = [];
  const visits: (number | null)[] = [];
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng.chance(0.05) ? null : rng.pick(roles);
    const v = rng.chance(0.05) ? null : Math.floor(rng.exponential(4));
    role.push(r);
    visits.push(v);
    const z = -1 + (r === null ? 0 : (effect[r] as number)) + Math.min(v ?? 0, 8) * 0.3;
    labels[i] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return {
    features: [
      { name: "role", kind: "categorical", values: role },
      { name: "counts.visits", kind: "numeric", values: visits },
    ],
    labels,
  };
}

const quick = { ...DEFAULT_BOOST, bags: 2 };

describe("fitting an additive model", () => {
  it("learns the shape that made the data, and beats nothing-but-chance on held-out folds", () => {
    const d = synthetic(3000, 1);
    const cv = crossValidate(d, 5, 42, { maxBins: 16, minCount: 10 }, quick);
    expect(cv.additive.rocAuc.mean).toBeGreaterThan(0.7);
    expect(cv.additive.perFold).toHaveLength(5);
    // The baseline sees the visits as a straight line; the additive model sees them saturate.
    expect(cv.additive.rocAuc.mean).toBeGreaterThan(cv.logistic.rocAuc.mean - 0.01);
    const rows = Array.from({ length: 3000 }, (_, i) => i);
    const f = fitAdditive(d, rows, { maxBins: 16, minCount: 10 }, quick);
    const role = f.bins[0];
    if (role?.kind !== "categorical") throw new Error("role is categorical");
    const pts = pointsTable(f.model)[0] as number[];
    const at = (c: string) => pts[role.categories.indexOf(c)] as number;
    expect(at("executive")).toBeGreaterThan(at("manager"));
    expect(at("manager")).toBeGreaterThan(at("engineer"));
    expect(at("engineer")).toBeGreaterThan(at("student"));
  });

  it("writes a model YAML the engine runs unchanged, scoring each lead the sum of its bins' points", () => {
    const d = synthetic(1500, 2);
    const rows = Array.from({ length: 1500 }, (_, i) => i);
    const f = fitAdditive(d, rows, { maxBins: 16, minCount: 10 }, quick);
    const yaml = toModelYaml(f.model, f.bins, f.terms, { name: "fitted", description: "test", threshold: 5 });
    const model = parseModel(yaml, "fitted.yaml");
    const table = pointsTable(f.model);
    const logits = predictLogit(f.model, f.x, rows);
    for (const i of rows.slice(0, 200)) {
      const traits: Record<string, unknown> = {};
      d.features.forEach((feat) => {
        const v = feat.values[i];
        if (v !== null && v !== undefined) traits[feat.name] = v;
      });
      const t = Date.parse("2026-01-01T00:00:00Z");
      const e = evaluate(
        model,
        [{ kind: "event", id: `m${i}`, at: t, type: "identify", traits: nestTraits(traits) }],
        t,
      );
      const expected = table.reduce(
        (s, pts, j) => s + (pts[(f.x.bins[j] as Uint16Array)[i] as number] as number),
        0,
      );
      expect(e.scores.predicted).toBeCloseTo(expected, 6);
      // The points are the log-odds, scaled (10 points double the odds), up to a constant.
      expect(Math.abs(expected - ((logits[i] as number) - f.model.intercept) * (10 / Math.LN2))).toBeLessThan(
        0.02 * d.features.length,
      );
    }
    expect(yaml).toContain("group: predicted");
    expect(yaml).toMatch(/label: executive/);
  });

  it("refuses fewer than 200 leads on either side of the outcome, giving both counts", () => {
    const d = synthetic(300, 3);
    const n = d.labels.reduce((a, b) => a + b, 0);
    expect(() => fitReport(d, { ...DEFAULT_FIT, outcome: "won" })).toThrow(
      `fitting needs at least 200 leads that reached 'won' and 200 that did not; there are ${n} and ${300 - n}`,
    );
  });
});
