import { expect, it } from "vitest";
import { loadModel } from "../../../src/engine/index.js";
import { QualifyError } from "../../../src/errors.js";
import { yaml } from "./helpers.js";

/**
 * Spec (Rounding): "MQL thresholds compare that sum exactly." Scores are whole hundredths, so a
 * bound such as `gte: 49.991` would have to be rounded; the loader rejects it instead.
 */
it("rejects a score bound finer than a hundredth", () => {
  const text = yaml(`
rules:
  - { id: big, match: Asset Downloaded, points: 49.99 }
qualification:
  mql: { score: engagement, gte: 49.991 }
`);
  expect(() => loadModel(text)).toThrow(QualifyError);
  try {
    loadModel(text);
  } catch (e) {
    expect((e as QualifyError).details).toEqual([
      {
        line: 7,
        path: "qualification.mql.gte",
        message:
          "expected a number of points with at most two decimals (scores compare in hundredths), got 49.991",
      },
    ]);
  }
});
