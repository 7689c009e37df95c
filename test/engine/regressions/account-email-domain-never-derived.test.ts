import { expect, it } from "vitest";
import { evaluate, type Input, parseModel } from "../../../src/engine/index.js";
import { yaml } from "./helpers.js";

/**
 * Spec (Traits): "`email_domain` is derived from `email`". For the person, compile-model.ts:213 adds
 * `email` to the keys kept; for the account nothing does, so mergeTraits never stores the account's
 * `email` and deletes the derived `email_domain` every time (merge-traits.ts:14-18). A condition on
 * `account: email_domain` can never hold.
 */
const m = parseModel(
  yaml(`
fit:
  - { id: acme, when: { account: email_domain, equals: acme.com }, points: 10 }
qualification:
  mql: { score: engagement, gte: 50 }
`),
);

it("account email_domain is derived from the account's email", () => {
  const g: Input = {
    kind: "event",
    id: "g1",
    at: Date.parse("2026-01-01T00:00:00Z"),
    type: "group",
    groupId: "acme",
    traits: { email: "billing@ACME.com" },
  };
  const e = evaluate(m, [g], g.at);
  expect(e.scores.fit).toBe(10);
});
