import { describe, expect, it } from "vitest";
import { parseSegmentEvent } from "../../src/ingest/parse-segment-event.js";
import { groupByLead } from "../../src/pipeline/group-by-lead.js";

const ok = (raw: unknown, receivedAt?: number) => {
  const r = parseSegmentEvent(raw, receivedAt);
  if (!r.ok) throw new Error(`${r.field}: ${r.reason}`);
  return r.event;
};

describe("parsing a Segment call", () => {
  it("corrects the timestamp for client clock skew with sentAt and the receive time", () => {
    // The client's clock runs 10 minutes fast: it says it sent at 12:10, the server got it at 12:00.
    const e = ok(
      {
        type: "track",
        userId: "u",
        event: "X",
        timestamp: "2026-01-01T12:05:00Z",
        sentAt: "2026-01-01T12:10:00Z",
      },
      Date.parse("2026-01-01T12:00:00Z"),
    );
    expect(new Date(e.input.at).toISOString()).toBe("2026-01-01T11:55:00.000Z");
  });

  it("uses the receive time when there is no timestamp, and the timestamp when there is no sentAt", () => {
    expect(ok({ type: "track", userId: "u", event: "X" }, 1_000).input.at).toBe(1_000);
    expect(
      ok({ type: "track", userId: "u", event: "X", timestamp: "2026-01-01T00:00:00Z" }, 5).input.at,
    ).toBe(Date.parse("2026-01-01T00:00:00Z"));
  });

  it("derives a page's path from its url, and keeps the identities", () => {
    const e = ok({
      type: "page",
      anonymousId: "a1",
      properties: { url: "https://x.example/pricing?q=1" },
      timestamp: "2026-01-01T00:00:00Z",
    });
    expect(e.input.properties?.path).toBe("/pricing");
    expect(e.anonymousId).toBe("a1");
    expect(e.userId).toBeUndefined();
  });

  it("gives a call without messageId a stable id from its content", () => {
    const raw = { type: "track", userId: "u", event: "X", timestamp: "2026-01-01T00:00:00Z" };
    expect(ok(raw).input.id).toBe(ok({ ...raw }).input.id);
    expect(ok({ ...raw, event: "Y" }).input.id).not.toBe(ok(raw).input.id);
  });

  it.each([
    [
      { type: "track", event: "X", timestamp: "2026-01-01T00:00:00Z" },
      "userId",
      "every call needs a userId or an anonymousId",
    ],
    [
      { type: "track", userId: "u", timestamp: "2026-01-01T00:00:00Z" },
      "event",
      "a track call needs an event name",
    ],
    [
      { type: "group", userId: "u", timestamp: "2026-01-01T00:00:00Z" },
      "groupId",
      "a group call needs a groupId",
    ],
    [
      { type: "alias", userId: "u", timestamp: "2026-01-01T00:00:00Z" },
      "previousId",
      "an alias call needs a previousId",
    ],
    [
      { type: "nope", userId: "u" },
      "type",
      'expected one of track, page, screen, identify, group, alias, got "nope"',
    ],
    [
      { type: "track", userId: "u", event: "X" },
      "timestamp",
      "missing, and there is no receive time to use instead",
    ],
    [
      { type: "track", userId: "u", event: "X", timestamp: "Jan 5" },
      "timestamp",
      'expected an ISO-8601 date, got "Jan 5"',
    ],
    [
      { type: "track", userId: "u", event: "X", timestamp: "2026-01-01", properties: [] },
      "properties",
      "expected an object",
    ],
  ])("rejects %j naming the field", (raw, field, reason) => {
    expect(parseSegmentEvent(raw)).toEqual({ ok: false, field, reason });
  });
});

describe("grouping calls into leads", () => {
  const T = "2026-01-01T00:00:00Z";
  it("links anonymous and known ids through identify and alias, and shares account traits", () => {
    const events = [
      ok({ type: "page", anonymousId: "a1", timestamp: T, messageId: "1" }),
      ok({
        type: "identify",
        anonymousId: "a1",
        userId: "u1",
        traits: { email: "x@y.com" },
        timestamp: T,
        messageId: "2",
      }),
      ok({ type: "track", anonymousId: "a2", event: "X", timestamp: T, messageId: "3" }),
      ok({ type: "alias", previousId: "a2", userId: "u1", timestamp: T, messageId: "4" }),
      ok({
        type: "group",
        userId: "u1",
        groupId: "g",
        traits: { employees: 500 },
        timestamp: T,
        messageId: "5",
      }),
      ok({ type: "group", userId: "u2", groupId: "g", timestamp: T, messageId: "6" }),
    ];
    const leads = groupByLead(events);
    expect(leads).toHaveLength(2);
    const u1 = leads.find((l) => l.userId === "u1");
    expect(u1?.anonymousIds).toEqual(["a1", "a2"]);
    expect(u1?.inputs.map((i) => i.id)).toEqual(["1", "2", "3", "4", "5"]);
    const u2 = leads.find((l) => l.userId === "u2");
    expect(u2?.inputs.map((i) => i.id)).toEqual(["6", "5#account"]);
  });
});
