import { expect, it } from "vitest";
import { evaluate, parseModel } from "../../../src/engine/index.js";
import { identify, T, track, yaml } from "./helpers.js";

/**
 * qualificationOf (src/engine/run-engine.ts:269-271) returns the cached `facts.blockers` array itself
 * as `qualification.rules`. For leads without traits that array belongs to the one TraitFacts object
 * that every such lead of the model shares (src/engine/trait-facts.ts:68-83), so a caller that edits
 * one result (sorts, filters in place, pops) changes how the engine scores every other lead.
 */
const model = parseModel(
  yaml(`
rules:
  - { id: form, match: Form Submitted, points: 10 }
qualification:
  mql: { score: engagement, gte: 5 }
  disqualifiers:
    - { id: no-title, mode: block, when: { trait: title, exists: false } }
`),
);

// Became a lead, then cleared its email: no traits left, so it uses the shared facts.
const lead = (n: string) => [
  identify(`${n}-i1`, "2026-01-01T00:00:00Z", { email: `${n}@acme.com` }),
  track(`${n}-f1`, "2026-01-01T00:00:01Z", "Form Submitted"),
  identify(`${n}-i2`, "2026-01-01T00:00:02Z", { email: null }),
];

it("a result handed to the caller is not the engine's own cache", () => {
  const t = T("2026-01-02T00:00:00Z");
  const first = evaluate(model, lead("a"), t);
  expect(first.qualification).toMatchObject({ status: "blocked", rules: ["no-title"] });
  // The caller tidies up its own copy of the result...
  first.qualification.rules.length = 0;
  // ...and another lead is no longer blocked.
  const second = evaluate(model, lead("b"), t);
  expect(second.qualification).toMatchObject({ status: "blocked", rules: ["no-title"] });
  expect(second.stage).toBe("lead");
});
