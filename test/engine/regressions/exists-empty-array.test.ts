import { describe, expect, it } from "vitest";
import { evaluate, parseModel } from "../../../src/engine/index.js";
import { identify, yaml } from "./helpers.js";

/**
 * Spec (Conditions): `exists: true` holds when the value "is present and not empty"; `exists: false`
 * when it "is missing, null or empty". evaluate-condition.ts:122 treats [] as present, so an empty
 * list trait satisfies `exists: true` and fails `exists: false`.
 */
const m = parseModel(
  yaml(`
fit:
  - { id: has-tags, when: { trait: tags, exists: true }, points: 5 }
  - { id: no-tags, when: { trait: tags, exists: false }, points: 1 }
qualification:
  mql: { score: engagement, gte: 50 }
`),
);

describe("exists with an empty list", () => {
  it("an empty list is empty", () => {
    const e = evaluate(
      m,
      [identify("i1", "2026-01-01T00:00:00Z", { tags: [] })],
      Date.parse("2026-01-02T00:00:00Z"),
    );
    expect(e.contributions.map((c) => c.rule)).toEqual(["no-tags"]);
    expect(e.scores.fit).toBe(1);
  });
});
