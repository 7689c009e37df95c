import { expect, it } from "vitest";
import { evaluate, parseModel } from "../../../src/engine/index.js";
import { track, yaml } from "./helpers.js";

/**
 * A matcher's `event` list with a repeated name is accepted, and EventIndex (compile-model.ts:74-79)
 * pushes the rule once per listed name under the same key, so one event earns the rule twice
 * (and once/cap/frequency state is updated twice).
 */
const m = parseModel(
  yaml(`
rules:
  - { id: webinar, match: { event: [Webinar Attended, Webinar Attended] }, points: 20 }
qualification:
  mql: { score: engagement, gte: 50 }
`),
);

it("one event earns a rule once", () => {
  const e = evaluate(
    m,
    [track("w1", "2026-01-01T00:00:00Z", "Webinar Attended")],
    Date.parse("2026-01-01T00:00:00Z"),
  );
  expect(e.scores.engagement).toBe(20);
});
