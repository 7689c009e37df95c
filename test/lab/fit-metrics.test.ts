import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyBins, binLabels, learnBins } from "../../src/lab/fit/binning.js";
import { stratifiedFolds } from "../../src/lab/fit/dataset.js";
import { calibrationTable, decileTable, meanSd, prAuc, rocAuc } from "../../src/lab/fit/metrics.js";

describe("fit metrics", () => {
  it("ROC AUC by hand: the share of (converter, non-converter) pairs ranked right, ties half", () => {
    // Pairs: positives 0.9, 0.4; negatives 0.5, 0.1 → (0.9>0.5, 0.9>0.1, 0.4<0.5, 0.4>0.1) = 3/4.
    expect(rocAuc([0.9, 0.5, 0.4, 0.1], [1, 0, 1, 0])).toBe(0.75);
    expect(rocAuc([0.5, 0.5], [1, 0])).toBe(0.5);
    expect(rocAuc([1, 2, 3], [0, 1, 1])).toBe(1);
  });

  it("PR AUC by hand: the mean precision at each converter", () => {
    // Ranked: 0.9 (1) p=1, 0.5 (0), 0.4 (1) p=2/3 → (1 + 2/3) / 2.
    expect(prAuc([0.9, 0.5, 0.4, 0.1], [1, 0, 1, 0])).toBeCloseTo(5 / 6, 12);
  });

  it("ROC AUC equals a brute-force count of ordered pairs", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.boolean()), { minLength: 2, maxLength: 40 }),
        (rows) => {
          const s = rows.map(([x]) => x);
          const y = rows.map(([, b]) => (b ? 1 : 0));
          let good = 0;
          let pairs = 0;
          for (let i = 0; i < s.length; i++)
            for (let j = 0; j < s.length; j++)
              if (y[i] === 1 && y[j] === 0) {
                pairs++;
                good += (s[i] as number) > (s[j] as number) ? 1 : s[i] === s[j] ? 0.5 : 0;
              }
          const auc = rocAuc(s, y);
          if (pairs === 0) expect(auc).toBeNaN();
          else expect(auc).toBeCloseTo(good / pairs, 12);
        },
      ),
    );
  });

  it("the lift table: ten groups, best first, capturing every conversion", () => {
    const scores = Array.from({ length: 100 }, (_, i) => i);
    const labels = scores.map((i) => (i >= 80 ? 1 : 0));
    const t = decileTable(scores, labels);
    expect(t.map((r) => r.converted)).toEqual([10, 10, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(t[0]).toMatchObject({ decile: 1, leads: 10, rate: 1, lift: 5, cumulativeCapture: 0.5 });
    expect(t[9]?.cumulativeCapture).toBe(1);
  });

  it("calibration: predicted against observed per band", () => {
    const t = calibrationTable([0.05, 0.05, 0.95, 0.95], [0, 0, 1, 0]);
    expect(t).toEqual([
      { from: 0, to: 0.1, leads: 2, predicted: 0.05, observed: 0 },
      { from: 0.9, to: 1, leads: 2, predicted: 0.95, observed: 0.5 },
    ]);
    expect(meanSd([1, 2, 3])).toEqual({ mean: 2, sd: 1 });
  });

  it("stratified folds: fixed by the seed, each fold with the same share of converters", () => {
    const labels = Array.from({ length: 1000 }, (_, i) => (i % 4 === 0 ? 1 : 0));
    const a = stratifiedFolds(labels, 5, 7);
    expect(stratifiedFolds(labels, 5, 7)).toEqual(a);
    expect(stratifiedFolds(labels, 5, 8)).not.toEqual(a);
    for (let f = 0; f < 5; f++) {
      const rows = labels.filter((_, i) => a[i] === f);
      expect(rows.length).toBe(200);
      expect(rows.filter((y) => y === 1).length).toBe(50);
    }
  });

  it("bins from training rows only: quantile cuts, rare categories to (other), missing apart", () => {
    const num = { name: "visits", kind: "numeric" as const, values: [1, 2, 3, 4, null, 100] };
    const b = learnBins(num, [0, 1, 2, 3], { maxBins: 2, minCount: 1 });
    expect(b).toEqual({ kind: "numeric", name: "visits", cuts: [3] });
    expect([...applyBins(b, num)]).toEqual([0, 0, 1, 1, 2, 1]);
    expect(binLabels(b)).toEqual(["< 3", "≥ 3", "(missing)"]);
    const cat = { name: "source", kind: "categorical" as const, values: ["a", "a", "b", null, "c"] };
    const c = learnBins(cat, [0, 1, 2, 3], { maxBins: 32, minCount: 2 });
    expect(c).toEqual({ kind: "categorical", name: "source", categories: ["a"] });
    // b is rare in training, c unseen: both (other).
    expect([...applyBins(c, cat)]).toEqual([0, 0, 1, 2, 1]);
  });
});
