import { expect, it } from "vitest";
import { evaluate, parseModel } from "../../../src/engine/index.js";
import { track, yaml } from "./helpers.js";

/**
 * lookupPath (evaluate-condition.ts:22) uses `path in obj`, and trait lookups index a plain object
 * (evaluate-condition.ts:39), so names on Object.prototype (`constructor`, `toString`, ...) read an
 * inherited function: `exists: true` holds on every event and every lead.
 */
const m = parseModel(
  yaml(`
rules:
  - { id: r, match: { event: Tick, where: { property: constructor, exists: true } }, points: 1 }
fit:
  - { id: f, when: { trait: toString, exists: true }, points: 1 }
qualification:
  mql: { score: engagement, gte: 50 }
`),
);

it("a missing property or trait is missing, even if Object.prototype has that name", () => {
  const e = evaluate(m, [track("t1", "2026-01-01T00:00:00Z", "Tick")], Date.parse("2026-01-01T00:00:00Z"));
  expect(e.scores).toEqual({ engagement: 0, fit: 0 });
});
