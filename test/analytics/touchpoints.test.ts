import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_ANALYTICS_CONFIG, parseAnalyticsConfig } from "../../src/analytics/analytics-config.js";
import { classifyEvent, type TouchEvent, touchTypesOf } from "../../src/analytics/classify-channel.js";
import { NOTHING_ROLLED, type PathEnds, rollLead } from "../../src/analytics/roll-lead.js";
import { continueSessions, pathOf, sessionize, type Touchpoint } from "../../src/analytics/sessionize.js";
import { QualifyError } from "../../src/errors.js";

const MIN = 60_000;
const T = Date.UTC(2026, 10, 2, 9);
const C = DEFAULT_ANALYTICS_CONFIG;

const page = (at: number, url: string, referrer?: string, campaign?: Record<string, string>): TouchEvent => ({
  at,
  type: "page",
  context: { page: { url, ...(referrer ? { referrer } : {}) }, ...(campaign ? { campaign } : {}) },
});
const track = (at: number, event: string): TouchEvent => ({ at, type: "track", event });
const channel = (e: TouchEvent) => classifyEvent(e, C)?.channel ?? "direct";

describe("channel classification (the default rules of docs/analytics.md)", () => {
  it("reads UTM parameters from context.campaign or from the page URL", () => {
    expect(
      classifyEvent(
        page(T, "https://acme.example/", undefined, { source: "google", medium: "cpc", name: "brand" }),
        C,
      ),
    ).toEqual({
      channel: "paid-search",
      source: "google",
      medium: "cpc",
      campaign: "brand",
    });
    expect(
      classifyEvent(
        page(T, "https://acme.example/?utm_source=linkedin&utm_medium=paid-social&utm_campaign=q4"),
        C,
      ),
    ).toEqual({ channel: "paid-social", source: "linkedin", medium: "paid-social", campaign: "q4" });
    // Paid on a social network is paid social, not paid search.
    expect(channel(page(T, "https://acme.example/?utm_source=facebook&utm_medium=cpc"))).toBe("paid-social");
    expect(channel(page(T, "https://acme.example/?utm_source=newsletter&utm_medium=Email"))).toBe("email");
  });

  it("without UTM, the referrer decides: search engines, social sites, other sites; none is direct", () => {
    expect(classifyEvent(page(T, "https://acme.example/", "https://www.google.de/search?q=x"), C)).toEqual({
      channel: "organic-search",
      source: "google.de",
      medium: "referral",
      campaign: null,
    });
    expect(channel(page(T, "https://acme.example/", "https://t.co/abc"))).toBe("organic-social");
    expect(channel(page(T, "https://acme.example/", "https://lnkd.in/xyz"))).toBe("organic-social");
    expect(channel(page(T, "https://acme.example/", "https://blog.partner.example/post"))).toBe("referral");
    // Its own site, or no referrer at all: nothing matches, so the session is direct.
    expect(classifyEvent(page(T, "https://acme.example/b", "https://acme.example/a"), C)).toBeNull();
    expect(classifyEvent(page(T, "https://acme.example/"), C)).toBeNull();
    // A host only looks like one: at.co is not t.co.
    expect(channel(page(T, "https://acme.example/", "https://at.co/"))).toBe("referral");
  });

  it("events name channels too: email clicks, webinars", () => {
    expect(channel(track(T, "Email Clicked"))).toBe("email");
    expect(channel(track(T, "Webinar Attended"))).toBe("events-webinars");
    expect(channel(track(T, "Demo Requested"))).toBe("direct");
  });

  it("rules are configurable, and a bad configuration names each field", () => {
    const own = parseAnalyticsConfig({ channels: [{ channel: "partners", source: ["acme-partner"] }] });
    expect(classifyEvent(page(T, "https://acme.example/?utm_source=acme-partner"), own)?.channel).toBe(
      "partners",
    );
    // Only the rules given: Google is no longer organic search.
    expect(classifyEvent(page(T, "https://acme.example/", "https://google.com/"), own)).toBeNull();
    let error: unknown;
    try {
      parseAnalyticsConfig({
        sessionGapMinutes: 0,
        channels: [{ channel: "x" }],
        touchTypes: [{ type: "y" }],
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(QualifyError);
    expect((error as QualifyError).code).toBe("ANALYTICS_CONFIG_INVALID");
    expect((error as QualifyError).details.map((d) => d.path)).toEqual([
      "sessionGapMinutes",
      "channels.0",
      "touchTypes.0",
    ]);
  });

  it("touchpoint types come from event names and page paths", () => {
    expect(touchTypesOf(page(T, "https://acme.example/pricing?plan=pro"), C)).toEqual(["pricing"]);
    expect(touchTypesOf(track(T, "Webinar Registered"), C)).toEqual(["webinar"]);
    expect(touchTypesOf(track(T, "Something Else"), C)).toEqual([]);
  });
});

describe("sessions", () => {
  it("cut after more than the gap; a session's channel is its first classified event's", () => {
    const events = [
      page(T, "https://acme.example/", "https://acme.example/"),
      page(T + 2 * MIN, "https://acme.example/pricing", "https://www.bing.com/"),
      track(T + 32 * MIN, "Webinar Registered"), // exactly 30 minutes after: the same session
      track(T + 63 * MIN, "Email Clicked"), // 31 minutes: a new one
      page(T + 64 * MIN, "https://acme.example/pricing"),
    ];
    const tps = sessionize(events, C);
    expect(tps).toHaveLength(2);
    expect(tps[0]).toMatchObject({
      index: 0,
      channel: "organic-search",
      source: "bing.com",
      startAt: T,
      endAt: T + 32 * MIN,
      events: 3,
      types: ["pricing", "webinar"],
    });
    expect(tps[1]).toMatchObject({
      index: 1,
      channel: "email",
      events: 2,
      types: ["email click", "pricing"],
    });
    expect(pathOf(tps, true)).toEqual(["pricing", "webinar", "email click", "pricing"]);
    expect(pathOf([...tps, { ...(tps[1] as Touchpoint), types: ["pricing", "pricing"] }], true)).toEqual([
      "pricing",
      "webinar",
      "email click",
      "pricing",
    ]);
    expect(pathOf([tps[1] as Touchpoint, tps[1] as Touchpoint], false)).toEqual([
      "email click",
      "pricing",
      "email click",
      "pricing",
    ]);
  });

  const arbEvent = fc.record({
    at: fc.integer({ min: 0, max: 6 * 60 }).map((m) => T + m * MIN),
    kind: fc.constantFrom("direct", "google", "cpc", "webinar", "email", "pricing"),
  });
  const build = (xs: { at: number; kind: string }[]) =>
    xs.map((x, i) => {
      const e =
        x.kind === "google"
          ? page(x.at, "https://acme.example/", "https://google.com/")
          : x.kind === "cpc"
            ? page(x.at, "https://acme.example/?utm_medium=cpc&utm_source=google")
            : x.kind === "webinar"
              ? track(x.at, "Webinar Attended")
              : x.kind === "email"
                ? track(x.at, "Email Clicked")
                : x.kind === "pricing"
                  ? page(x.at, "https://acme.example/pricing")
                  : page(x.at, "https://acme.example/");
      return { ...e, id: `e${i}` };
    });

  it("order does not matter; every event lands in one session; gaps inside ≤ the gap, between > it", () => {
    fc.assert(
      fc.property(fc.array(arbEvent, { maxLength: 40 }), fc.integer(), (xs, seed) => {
        const events = build(xs);
        const shuffled =
          fc.sample(fc.shuffledSubarray(events, { minLength: events.length }), { seed, numRuns: 1 })[0] ?? [];
        const tps = sessionize(events, C);
        expect(sessionize(shuffled, C)).toEqual(tps);
        expect(tps.reduce((n, t) => n + t.events, 0)).toBe(events.length);
        for (const [i, tp] of tps.entries()) {
          expect(tp.index).toBe(i);
          const inside = events.filter((e) => e.at >= tp.startAt && e.at <= tp.endAt);
          expect(inside).toHaveLength(tp.events);
          const next = tps[i + 1];
          if (next) expect(next.startAt - tp.endAt).toBeGreaterThan(C.sessionGapMs);
        }
        const sorted = [...events].sort((a, b) => a.at - b.at);
        for (let i = 1; i < sorted.length; i++) {
          const gap = (sorted[i] as TouchEvent).at - (sorted[i - 1] as TouchEvent).at;
          const same = tps.some(
            (tp) =>
              (sorted[i - 1] as TouchEvent).at >= tp.startAt && (sorted[i] as TouchEvent).at <= tp.endAt,
          );
          expect(same).toBe(gap <= C.sessionGapMs);
        }
      }),
    );
  });

  it("a collapsed path has no repeat in a row, and keeps the order of the full one", () => {
    fc.assert(
      fc.property(fc.array(arbEvent, { maxLength: 40 }), (xs) => {
        const tps = sessionize(build(xs), C);
        const full = pathOf(tps, false);
        const collapsed = pathOf(tps, true);
        for (let i = 1; i < collapsed.length; i++) expect(collapsed[i]).not.toBe(collapsed[i - 1]);
        expect(collapsed).toEqual(full.filter((t, i) => i === 0 || full[i - 1] !== t));
      }),
    );
  });

  const arbEnd = fc.option(fc.integer({ min: -10, max: 6 * 60 + 10 }).map((m) => T + m * MIN));
  const arbEnds = fc.record({ mqlAt: arbEnd, customerAt: arbEnd });

  it("continued from stored sessions and paths with later events: as from the whole history", () => {
    fc.assert(
      fc.property(
        fc.array(arbEvent, { maxLength: 40 }),
        fc.integer({ min: -1, max: 6 * 60 }).map((m) => T + m * MIN),
        arbEnds,
        fc.option(arbEnds),
        (xs, cut, old, moved) => {
          const events = build(xs);
          const early = events.filter((e) => e.at <= cut);
          const late = events.filter((e) => e.at > cut);
          const stored = rollLead(NOTHING_ROLLED, early, old, C);
          if (!stored) throw new Error("a lead with nothing stored always rolls");
          expect(continueSessions(stored.sessions, late, C)).toEqual(sessionize(events, C));
          // The milestones now: as they were, or moved (a new MQL or win).
          const ends: PathEnds = moved ?? old;
          const before = {
            sessions: stored.sessions,
            paths: { ...old, toMql: stored.toMql, toWon: stored.toWon },
          };
          const next = rollLead(before, late, ends, C);
          const whole = rollLead(NOTHING_ROLLED, events, ends, C);
          if (next) expect(next).toEqual(whole);
          // It declines only for a path that now ends inside the stored sessions at a new milestone.
          const settles = (e: number | null, was: number | null) =>
            e === null || e >= cut || (e === was && late.every((x) => x.at > e));
          if (settles(ends.mqlAt, old.mqlAt) && settles(ends.customerAt, old.customerAt))
            expect(next).not.toBeNull();
        },
      ),
    );
  });

  it("declines an event at or before the last stored one", () => {
    const stored = rollLead(NOTHING_ROLLED, build([{ at: T + 5 * MIN, kind: "google" }]), ENDS_NONE, C);
    expect(stored).not.toBeNull();
    const late = build([{ at: T + 5 * MIN, kind: "email" }]);
    expect(rollLead({ sessions: stored?.sessions ?? [] }, late, ENDS_NONE, C)).toBeNull();
  });
});

const ENDS_NONE: PathEnds = { mqlAt: null, customerAt: null };
