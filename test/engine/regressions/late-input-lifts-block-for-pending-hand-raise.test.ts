import { expect, it } from "vitest";
import {
  type Input,
  type LeadState,
  newLeadState,
  parseModel,
  replay,
  step,
  type Transition,
} from "../../../src/engine/index.js";
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
  let st: LeadState = newLeadState(m);
  const known: Input[] = [];
  const transitions: Transition[] = [];
  for (const b of [
    [
      identify("i1", "2026-09-01T10:00:00Z", { email: "li@uni.example" }),
      track("f1", "2026-09-01T10:01:00Z", "Form Submitted"),
    ],
    [identify("i2", "2026-09-02T10:00:00Z", { title: "PhD Student" })],
    [track("h1", "2026-09-03T10:00:00Z", "Contact Sales Requested")],
    // late: a page view from Sept 1, before the title was known
    [page("p0", "2026-09-01T12:00:00Z", "/blog")],
  ]) {
    const t = Math.max(st.asOf, ...b.map((i) => i.at));
    let r = step(m, st, b, t);
    if (r.needsReplayFrom !== undefined) r = replay(m, st, known, b, t);
    const done = r as Exclude<typeof r, { needsReplayFrom: number }>;
    st = done.state;
    known.push(...b);
    transitions.push(...done.transitions);
  }
  expect(transitions.map((t) => `${t.from} → ${t.to}`)).toEqual([
    "visitor → subscriber",
    "subscriber → lead",
  ]);
  expect(st.l.stage).toBe("lead");
  // actual: a third transition lead → mql, reason "hand-raiser contact", triggerAt 2026-09-01T12:00Z
});
