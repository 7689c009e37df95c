import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ATTRIBUTION_MODELS, credit, OUTCOMES, outcomeCredits } from "../../src/analytics/attribution.js";

/** The formulas of docs/analytics.md, on touches t0…t4 at times 0, 10, 20, 30, 40. */
const T = [0, 10, 20, 30, 40];
const round = (xs: number[]) => xs.map((x) => Math.round(x * 1000) / 1000);

describe("attribution models", () => {
  it("first touch, last touch and linear over the touches up to the outcome", () => {
    const m = { leadAt: 20, opportunityAt: null };
    expect(credit(T, "firstTouch", 25, m)).toEqual([1, 0, 0, 0, 0]);
    expect(credit(T, "lastTouch", 25, m)).toEqual([0, 0, 1, 0, 0]);
    expect(round(credit(T, "linear", 25, m))).toEqual([0.333, 0.333, 0.333, 0, 0]);
  });

  it("U-shaped: 40 % first, 40 % lead creation, 20 % shared between, touches after lead creation left out", () => {
    const m = { leadAt: 20, opportunityAt: null };
    expect(round(credit(T, "uShaped", 45, m))).toEqual([0.4, 0.2, 0.4, 0, 0]);
    // Two touches: 50/50; lead created at the first touch: it takes everything.
    expect(credit(T, "uShaped", 45, { leadAt: 10, opportunityAt: null })).toEqual([0.5, 0.5, 0, 0, 0]);
    expect(credit(T, "uShaped", 45, { leadAt: 5, opportunityAt: null })).toEqual([1, 0, 0, 0, 0]);
  });

  it("W-shaped: 30 % each to first, lead creation and opportunity creation, 10 % shared by the rest", () => {
    const m = { leadAt: 20, opportunityAt: 40 };
    expect(round(credit(T, "wShaped", 45, m))).toEqual([0.3, 0.05, 0.3, 0.05, 0.3]);
    // Before the opportunity exists, W-shaped is U-shaped.
    expect(credit(T, "wShaped", 35, m)).toEqual(credit(T, "uShaped", 35, m));
    // First touch and lead creation in one touch: it has both roles (60 of 100).
    expect(round(credit(T, "wShaped", 45, { leadAt: 5, opportunityAt: 40 }))).toEqual([
      0.6, 0.033, 0.033, 0.033, 0.3,
    ]);
    // No other touches: the three roles' 90 scaled to 100 %.
    expect(round(credit([0, 10, 20], "wShaped", 25, { leadAt: 10, opportunityAt: 20 }))).toEqual([
      0.333, 0.333, 0.333,
    ]);
  });

  it("no touch at or before the outcome: no credit", () => {
    for (const model of ATTRIBUTION_MODELS)
      expect(credit([50], model, 40, { leadAt: 40, opportunityAt: null })).toEqual([0]);
  });

  it("every model's credits are ≥ 0, fall only on touches up to the outcome, and add up to 1", () => {
    fc.assert(
      fc.property(
        fc
          .uniqueArray(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 12 })
          .map((xs) => xs.sort((a, b) => a - b)),
        fc.integer({ min: 0, max: 1000 }),
        fc.option(fc.integer({ min: 0, max: 1000 })),
        fc.option(fc.integer({ min: 0, max: 1000 })),
        fc.constantFrom(...ATTRIBUTION_MODELS),
        (touches, at, leadAt, opportunityAt, model) => {
          const w = credit(touches, model, at, { leadAt, opportunityAt });
          expect(w).toHaveLength(touches.length);
          for (const [i, x] of w.entries()) {
            expect(x).toBeGreaterThanOrEqual(0);
            if ((touches[i] as number) > at) expect(x).toBe(0);
          }
          const sum = w.reduce((a, b) => a + b, 0);
          expect(sum).toBeCloseTo((touches[0] as number) <= at ? 1 : 0, 9);
        },
      ),
    );
  });

  it("a lead's credits per outcome: touches of one channel, source and campaign summed, no touch booked apart", () => {
    const touch = (startAt: number, channel: string, campaign: string | null = null) => ({
      startAt,
      channel,
      source: null,
      campaign,
    });
    const rows = outcomeCredits(
      [touch(10, "email", "spring"), touch(20, "direct"), touch(30, "email", "spring")],
      {
        lead: 5,
        mql: 25,
        sql: null,
        opportunity: null,
        won: 35,
      },
    );
    // Created before any touch: one row with no channel and full credit.
    expect(rows.filter((r) => r.outcome === "lead")).toEqual([
      expect.objectContaining({
        channel: null,
        credits: { firstTouch: 1, lastTouch: 1, linear: 1, uShaped: 1, wShaped: 1 },
      }),
    ]);
    // The win at 35: linear ⅓ each, the two spring emails summed into one row.
    const won = rows.filter((r) => r.outcome === "won");
    expect(won.map((r) => [r.channel, r.campaign, Math.round(r.credits.linear * 1000) / 1000])).toEqual([
      ["email", "spring", 0.667],
      ["direct", null, 0.333],
    ]);
    expect(rows.some((r) => r.outcome === "sql")).toBe(false);
  });

  it("every outcome's credits add up to 1 under every model", () => {
    const at = fc.option(fc.integer({ min: 0, max: 1000 }));
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            startAt: fc.integer({ min: 0, max: 1000 }),
            channel: fc.constantFrom("email", "direct", "organic-search"),
            source: fc.constantFrom(null, "google"),
            campaign: fc.constantFrom(null, "spring"),
          }),
          { maxLength: 10 },
        ),
        fc.record({ lead: at, mql: at, sql: at, opportunity: at, won: at }),
        (touches, outcomes) => {
          const rows = outcomeCredits(
            [...touches].sort((a, b) => a.startAt - b.startAt),
            outcomes,
          );
          for (const o of OUTCOMES)
            for (const m of ATTRIBUTION_MODELS) {
              const mine = rows.filter((r) => r.outcome === o);
              expect(mine.reduce((a, r) => a + r.credits[m], 0)).toBeCloseTo(outcomes[o] === null ? 0 : 1, 9);
            }
        },
      ),
    );
  });
});
