import { expect, it } from "vitest";
import { parseModel } from "../../../src/engine/index.js";
import { processLive } from "../../support/live.js";
import { identify, page, track, yaml } from "./helpers.js";

/**
 * Spec: "A hand-raise made while blocked waits, and qualifies the lead when a trait change lifts
 * the block." A late input whose event time predates the blocking trait is checked with the traits
 * of its own time (no block), and the pending hand-raise (made later, while blocked) fires
 * (lifecycle.ts:183-186). The block never lifted; the student becomes an MQL.
 */
const m = parseModel(
  yaml(`
qualification:
  mql: { score: engagement, gte: 50 }
  handRaisers: [{ id: contact, match: Contact Sales Requested }]
  disqualifiers:
    - { id: student, mode: block, when: { trait: title, contains: student } }
`),
);

it("a late event does not qualify a lead that is still blocked", () => {
  const { state, transitions } = processLive(m, [
    [
      identify("i1", "2026-09-01T10:00:00Z", { email: "li@uni.example" }),
      track("f1", "2026-09-01T10:01:00Z", "Form Submitted"),
    ],
    [identify("i2", "2026-09-02T10:00:00Z", { title: "PhD Student" })],
    [track("h1", "2026-09-03T10:00:00Z", "Contact Sales Requested")],
    // late: a page view from Sept 1, before the title was known
    [page("p0", "2026-09-01T12:00:00Z", "/blog")],
  ]);
  expect(transitions.map((t) => `${t.from} → ${t.to}`)).toEqual([
    "visitor → subscriber",
    "subscriber → lead",
  ]);
  expect(state.l.stage).toBe("lead");
});
