import { expect, it } from "vitest";
import { modelErrors } from "../../support/model-errors.js";
import { yaml } from "./helpers.js";

/**
 * upperBoundCents (src/engine/mql-shortcut.ts) assumes a group's clamp is monotone. A floor above
 * the cap is not (a large sum gives the cap, a small one the higher floor), so such a model is
 * rejected when it loads.
 */
it("rejects a group whose floor is above its cap", () => {
  const text = yaml(`
groups:
  engagement: { cap: 10, floor: 20, decay: { halfLife: 1d } }
qualification:
  mql: { score: engagement, gte: 15 }
`);
  expect(modelErrors(text)).toEqual([
    { line: 5, path: "groups.engagement.floor", message: "must not be above the cap (10), got 20" },
  ]);
});
