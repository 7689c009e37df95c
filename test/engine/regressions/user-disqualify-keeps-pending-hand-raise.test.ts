import { expect, it } from "vitest";
import { evaluate, parseModel } from "../../../src/engine/index.js";
import { fact, identify, track, yaml } from "./helpers.js";

/**
 * A pending hand-raise (L.hr) is cleared when a terminal disqualifier fires (lifecycle.ts:164), but
 * not when a user/CRM `disqualified` fact moves the lead (move() at lifecycle.ts:148; move() only clears hr at lines 108-115
 * for recycled and mql). After `reinstated`, the stale hand-raise made before the disqualification
 * qualifies the lead at once. The worked example "A terminal disqualifier beats a hand-raiser, and
 * only a user reinstates" shows a reinstated lead staying `lead` until a new hand-raise.
 */
const m = parseModel(
  yaml(`
qualification:
  mql: { score: engagement, gte: 50 }
  handRaisers: [{ id: demo, match: Demo Requested }]
`),
);

it("a hand-raise made before a user disqualified the lead does not qualify it after reinstatement", () => {
  const e = evaluate(
    m,
    [
      track("h1", "2026-09-01T10:00:00Z", "Demo Requested"), // anonymous: waits
      fact("d1", "2026-09-02T10:00:00Z", "disqualified"), // sales: spam
      identify("i1", "2026-09-03T10:00:00Z", { email: "ana@acme.com" }),
      fact("r1", "2026-09-04T10:00:00Z", "reinstated"),
    ],
    Date.parse("2026-09-05T00:00:00Z"),
  );
  expect(e.transitions.map((t) => `${t.from} → ${t.to}`)).toEqual([
    "visitor → disqualified",
    "disqualified → lead",
  ]);
  expect(e.stage).toBe("lead");
});
