import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { scoreHistory } from "../../src/api/explain-lead.js";
import { evaluate, parseModel } from "../../src/engine/index.js";
import { DAY, history, modelYaml } from "../support/arbitraries.js";

/**
 * A profile's score over time (`GET /api/leads/:id/score-history`) is computed in one incremental
 * pass; at every sample it must equal the engine's `evaluate` as of that time (what
 * `explain?at=` answers), over generated models and histories.
 */
describe("score history (fast-check)", () => {
  it("equals evaluate at each sampled time", () => {
    fc.assert(
      fc.property(modelYaml, history, fc.integer({ min: 1, max: 60 }), (yaml, inputs, points) => {
        const m = parseModel(yaml);
        const to = Math.max(...inputs.map((i) => i.at)) + 10 * DAY;
        const stored = inputs.map((input, seq) => ({ seq, input }));
        const h = scoreHistory(m, stored as Parameters<typeof scoreHistory>[1], to, points);
        for (const p of h.series)
          expect(p.scores).toEqual(evaluate(m, inputs, Date.parse(p.at as string)).scores);
      }),
      { numRuns: 500 },
    );
  });
});
