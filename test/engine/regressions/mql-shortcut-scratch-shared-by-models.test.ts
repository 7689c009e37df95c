import { expect, it } from "vitest";
import { evaluate, type Input, parseModel } from "../../../src/engine/index.js";
import { yaml } from "./helpers.js";

/**
 * The MQL shortcut's bound (mql-shortcut.ts `upperBoundCents`) fills a scratch array that every
 * model shares (lifecycle.ts `upperScratch`). It looped over the array's length, not the model's
 * groups: after a model with more groups (the lab's count features have hundreds), the next
 * model read groups it does not have and threw.
 */
const many = parseModel(
  yaml(`
groups: { a: {}, b: {}, c: {}, d: {} }
rules:
  - { id: a, group: a, match: Visit, points: 1 }
qualification:
  mql: { score: a, gte: 100 }
`),
);
const few = parseModel(
  yaml(`
rules:
  - { id: visit, match: Visit, points: 1 }
qualification:
  mql: { score: engagement, gte: 100 }
`),
);

it("a model with fewer groups scores after one with more", () => {
  const at = Date.parse("2026-01-01T00:00:00Z");
  // A lead (an email and a form), so that each visit checks the MQL condition.
  const inputs: Input[] = [
    { kind: "event", id: "i1", at, type: "identify", traits: { email: "a@b.example" } },
    { kind: "event", id: "f1", at: at + 1, type: "track", event: "Form Submitted" },
    { kind: "event", id: "v1", at: at + 2, type: "track", event: "Visit" },
  ];
  expect(evaluate(many, inputs, at + 2).scores.a).toBe(1);
  expect(evaluate(few, inputs, at + 2).scores.engagement).toBe(1);
});
