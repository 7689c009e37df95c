import { expect, it } from "vitest";
import { contributionsOf, newLeadState, parseModel, step, summarize } from "../../../src/engine/index.js";
import { identify, T, yaml } from "./helpers.js";

/**
 * summarize and contributionsOf only read a state, and did so before the trait-facts cache. Now
 * traitFacts (src/engine/trait-facts.ts:84-85) defines its cache property on the state they are
 * given, so a snapshot the caller froze (say, the copy it kept before an in-place step) throws
 * "Cannot define property Symbol(traitFacts), object is not extensible".
 */
const model = parseModel(
  yaml(`
fit:
  - { id: exec, when: { trait: title, contains: VP }, points: 40 }
qualification:
  mql: { score: engagement, gte: 50 }
`),
);

const deepFreeze = <T>(o: T): T => {
  for (const v of Object.values(o as object)) if (v && typeof v === "object") deepFreeze(v);
  return Object.freeze(o);
};

it("reading a frozen state works", () => {
  const state = newLeadState(model);
  step(
    model,
    state,
    [identify("i1", "2026-01-01T00:00:00Z", { title: "VP Sales" })],
    T("2026-01-01T00:00:00Z"),
  );
  const snapshot = deepFreeze(structuredClone(state));
  expect(() => summarize(model, snapshot)).not.toThrow();
  expect(() => contributionsOf(model, snapshot)).not.toThrow();
  expect(summarize(model, snapshot).scores.fit).toBe(40);
});
