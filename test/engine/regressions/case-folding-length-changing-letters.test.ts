import { expect, it } from "vitest";
import { evaluate, parseModel } from "../../../src/engine/index.js";
import { identify, T, yaml } from "./helpers.js";

/**
 * compileOps (src/engine/evaluate-condition.ts:95, 115, 120) compares lengths and slices *before* case-folding:
 * `equals` requires t.length === norm(want).length, and `prefix`/`suffix` slice the value to the
 * folded constant's length. "İ" (U+0130) lower-cases to two code units ("i̇"), so a value that is
 * identical to the model's constant no longer matches. Before the lazy folding these all matched.
 */
const model = parseModel(
  yaml(`
fit:
  - { id: city, when: { trait: city, equals: İstanbul }, points: 10 }
  - { id: prefix, when: { trait: city, prefix: İst }, points: 1 }
  - { id: suffix, when: { trait: region, suffix: Lİ }, points: 100 }
qualification:
  mql: { score: engagement, gte: 1000 }
`),
);

it("text operators match a value identical to the constant, whatever letters it has", () => {
  const e = evaluate(
    model,
    [identify("i1", "2026-01-01T00:00:00Z", { city: "İstanbul", region: "KARAMANLİ" })],
    T("2026-01-02T00:00:00Z"),
  );
  expect(e.scores.fit).toBe(111);
});
