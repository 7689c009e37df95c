import { describe, expect, it } from "vitest";
import { generateHistory } from "../../src/analytics/generate-history.js";

const REPS = [
  { id: "r1", team: "smb" },
  { id: "r2", team: "enterprise" },
];
const START = Date.UTC(2025, 0, 6);
const DAY = 86_400_000;
const make = (seed: number, profiles = 2_000) => [
  ...generateHistory({ seed, profiles, start: START, days: 365, reps: REPS }),
];

describe("the history generator", () => {
  it("is seeded: the same seed, the same history; another seed, another", () => {
    expect(make(7, 200)).toEqual(make(7, 200));
    expect(make(8, 200)).not.toEqual(make(7, 200));
  });

  it("has a plausible shape: about 14 events and 3 transitions a profile, a narrowing funnel", () => {
    const h = make(7);
    const events = h.reduce((n, p) => n + p.events.length, 0) / h.length;
    const transitions = h.reduce((n, p) => n + p.transitions.length, 0) / h.length;
    expect(events).toBeGreaterThan(10);
    expect(events).toBeLessThan(16);
    expect(transitions).toBeGreaterThan(1.5);
    expect(transitions).toBeLessThan(4);
    const reached = (stage: string) => h.filter((p) => p.transitions.some((t) => t.to === stage)).length;
    expect(reached("lead")).toBeGreaterThan(reached("mql"));
    expect(reached("mql")).toBeGreaterThan(reached("sal"));
    expect(reached("sal")).toBeGreaterThan(reached("opportunity"));
    expect(reached("opportunity")).toBeGreaterThan(reached("customer"));
    expect(reached("customer")).toBeGreaterThan(0);
  });

  it("is consistent: events in time order within the history, transitions in order, a handoff per MQL", () => {
    for (const p of make(3, 500)) {
      for (let i = 1; i < p.events.length; i++)
        expect(p.events[i]?.at).toBeGreaterThanOrEqual(p.events[i - 1]?.at as number);
      for (const e of p.events) expect(e.at).toBeLessThanOrEqual(START + 365 * DAY);
      expect(p.events[0]?.at).toBe(p.firstSeenAt);
      for (let i = 1; i < p.transitions.length; i++) {
        expect(p.transitions[i]?.from).toBe(p.transitions[i - 1]?.to);
        expect(p.transitions[i]?.at).toBeGreaterThanOrEqual(p.transitions[i - 1]?.at as number);
      }
      expect(p.stage).toBe(p.transitions[p.transitions.length - 1]?.to ?? "visitor");
      expect(p.handoffs).toHaveLength(p.transitions.filter((t) => t.to === "mql").length);
    }
  });
});
