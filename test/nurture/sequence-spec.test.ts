import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { QualifyError } from "../../src/errors.js";
import { afterFrequencyCap, afterQuietHours, earliestSend, leadZone } from "../../src/nurture/send-window.js";
import { loadSequence, templatesOf } from "../../src/nurture/sequence-spec.js";

/** Nurture sequences as written in YAML, and the send window that guards every marketing email. */

const GOOD = `id: trial-nurture
name: Trial nurture
entry: { stage: [lead, recycled] }
reentry: { after: 30d }
exit: { events: [Email Replied], when: { score: engagement, gte: 80 } }
steps:
  - { id: welcome, send: tpl-welcome }
  - { id: pause, wait: 2d }
  - { id: engaged, waitFor: { event: Email Clicked, timeout: 3d } }
  - { id: fork, if: { minGrade: B }, then: case-study, else: tips }
  - { id: tips, send: tpl-tips }
  - { id: case-study, send: tpl-case-study }
`;

describe("loadSequence", () => {
  it("reads entry, steps, exit and re-entry, with durations in milliseconds and the default exits", () => {
    const s = loadSequence(GOOD);
    expect(s.entry.stage).toEqual(["lead", "recycled"]);
    expect(s.reentry).toEqual({ after: 30 * 86_400_000 });
    expect(s.exit).toMatchObject({
      mql: true,
      disqualified: true,
      handRaiser: true,
      events: ["Email Replied"],
    });
    expect(s.steps[1]).toEqual({ id: "pause", wait: 2 * 86_400_000 });
    expect(s.steps[2]).toEqual({
      id: "engaged",
      waitFor: { event: ["Email Clicked"], timeout: 3 * 86_400_000 },
    });
    expect(templatesOf(s)).toEqual(["tpl-welcome", "tpl-tips", "tpl-case-study"]);
  });

  it("rejects a bad sequence with every error, its path and its line", () => {
    const bad = `id: Bad Id
entry: {}
steps:
  - { id: a, wait: soon }
  - { id: a, send: tpl }
  - { id: b, if: { score: engagement, gte: 10 }, then: a }
  - { id: c, if: { minGrade: B }, then: nowhere }
  - { id: d, sing: loudly }
`;
    try {
      loadSequence(bad, "bad.yaml");
      expect.unreachable();
    } catch (e) {
      const err = e as QualifyError;
      expect(err.code).toBe("SEQUENCE_INVALID");
      const at = Object.fromEntries(err.details.map((d) => [d.path, `${d.line}: ${d.message}`]));
      expect(at.id).toMatch(/^1: expected an id of lowercase/);
      expect(at.entry).toBe("2: say how a lead enters: stage, when or event");
      expect(at["steps[0].wait"]).toMatch(/^4: expected a duration like 30d/);
      expect(at["steps[1].id"]).toBe("5: step id 'a' is used twice");
      expect(at["steps[2].then"]).toBe("6: 'a' comes before this step; a sequence only jumps ahead");
      expect(at["steps[3].then"]).toBe("7: no step 'nowhere' (or say end)");
      expect(at["steps[4]"]).toMatch(/^8: a step is one of/);
    }
  });
});

const zone = "America/New_York";
const at = (iso: string) => Date.parse(iso);

describe("the send window", () => {
  it("takes the lead's zone from context, then its trait, then the workspace default", () => {
    expect(leadZone(["Europe/Paris", "Asia/Tokyo"], "UTC")).toBe("Europe/Paris");
    expect(leadZone([undefined, "Asia/Tokyo"], "UTC")).toBe("Asia/Tokyo");
    expect(leadZone(["Mars/Base", 42], "UTC")).toBe("UTC");
  });

  it("waits out quiet hours in the lead's zone, across midnight", () => {
    const quiet = { start: "21:00", end: "08:00" };
    // 22:30 in New York (EST, UTC-5) → 08:00 the next morning.
    expect(new Date(afterQuietHours(zone, quiet, at("2026-12-01T03:30:00Z"))).toISOString()).toBe(
      "2026-12-01T13:00:00.000Z",
    );
    // 03:00 → 08:00 the same morning; 12:00 is not quiet.
    expect(afterQuietHours(zone, quiet, at("2026-12-01T08:00:00Z"))).toBe(at("2026-12-01T13:00:00Z"));
    expect(afterQuietHours(zone, quiet, at("2026-12-01T17:00:00Z"))).toBe(at("2026-12-01T17:00:00Z"));
    // On the night the clocks go back (2026-11-01) the morning end is 08:00 EST.
    expect(afterQuietHours(zone, quiet, at("2026-11-01T05:30:00Z"))).toBe(at("2026-11-01T13:00:00Z"));
  });

  it("keeps within the frequency cap", () => {
    const week = 7 * 86_400_000;
    const now = at("2026-12-10T12:00:00Z");
    const sent = [now - 6 * 86_400_000, now - 2 * 86_400_000, now - 9 * 86_400_000];
    expect(afterFrequencyCap(sent, { max: 3, windowMs: week }, now)).toBe(now);
    expect(afterFrequencyCap(sent, { max: 2, windowMs: week }, now)).toBe(now - 6 * 86_400_000 + week);
  });

  it("the earliest send is never earlier than now, and satisfies both the cap and the quiet hours", () => {
    const quiet = { start: "20:00", end: "09:00" };
    const cap = { max: 2, windowMs: 7 * 86_400_000 };
    fc.assert(
      fc.property(
        fc.integer({ min: at("2026-01-01T00:00:00Z"), max: at("2027-01-01T00:00:00Z") }),
        fc.array(fc.integer({ min: 0, max: 10 * 86_400_000 }), { maxLength: 5 }),
        (now, ago) => {
          const sent = ago.map((a) => now - a);
          const t = earliestSend(zone, quiet, sent, cap, now);
          expect(t).toBeGreaterThanOrEqual(now);
          expect(afterQuietHours(zone, quiet, t)).toBe(t);
          expect(afterFrequencyCap(sent, cap, t)).toBe(t);
        },
      ),
    );
  });
});
