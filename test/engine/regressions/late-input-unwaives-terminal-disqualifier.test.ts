import { describe, expect, it } from "vitest";
import { parseModel } from "../../../src/engine/index.js";
import { processLive } from "../../support/live.js";
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

describe("terminal-disqualifier waiver", () => {
  it("survives a late input whose own time predates the disqualifying trait", () => {
    const { state: st, transitions } = processLive(m, [
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
