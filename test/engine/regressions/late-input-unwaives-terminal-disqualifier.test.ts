import { describe, expect, it } from "vitest";
import {
  type Input,
  type LeadState,
  newLeadState,
  parseModel,
  replay,
  step,
  type Transition,
} from "../../../src/engine/index.js";
import { fact, identify, page, track, yaml } from "./helpers.js";

/**
 * Spec: after `reinstated`, "the disqualifier that held then is waived until it stops holding".
 * A late input (event time before the disqualifying trait) is checked with the traits of its own
 * time, where the disqualifier does not hold, so the waiver is dropped (lifecycle.ts:122), and the
 * next ordinary input disqualifies the reinstated lead again, though its email never changed.
 */
const m = parseModel(
  yaml(`
lifecycle: { lead: { events: [Form Submitted] } }
qualification:
  mql: { score: engagement, gte: 50 }
  disqualifiers:
    - { id: competitor, mode: terminal, when: { trait: email_domain, equals: rival.example } }
`),
);

function live(batches: Input[][]) {
  let st: LeadState = newLeadState(m);
  const known: Input[] = [];
  const transitions: Transition[] = [];
  for (const b of batches) {
    const t = Math.max(st.asOf, ...b.map((i) => i.at));
    let r = step(m, st, b, t);
    if (r.needsReplayFrom !== undefined) r = replay(m, st, known, b, t);
    const done = r as Exclude<typeof r, { needsReplayFrom: number }>;
    st = done.state;
    known.push(...b);
    transitions.push(...done.transitions);
  }
  return { st, transitions };
}

describe("terminal-disqualifier waiver", () => {
  it("survives a late input whose own time predates the disqualifying trait", () => {
    const { st, transitions } = live([
      [identify("i1", "2026-09-01T10:00:00Z", { email: "spy@rival.example" })],
      [fact("r1", "2026-09-02T10:00:00Z", "reinstated")],
      // an anonymous page view from before the identify, delivered late
      [page("p0", "2026-08-31T10:00:00Z", "/blog")],
      [track("n1", "2026-09-03T10:00:00Z", "Newsletter Subscribed")],
    ]);
    expect(transitions.map((t) => `${t.from} → ${t.to}`)).toEqual([
      "visitor → disqualified",
      "disqualified → subscriber",
    ]);
    expect(st.l.stage).toBe("subscriber");
  });
});
