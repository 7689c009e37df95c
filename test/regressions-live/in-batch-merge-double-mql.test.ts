import { describe, expect, it } from "vitest";
import { leadIdOf, outboxCount, sendBatch, sendOne, storedTransitions } from "../support/live-checks.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService } from "../support/test-service.js";

/**
 * Regression: a merge compared the two leads' `stage` columns, which are refreshed only at the end
 * of a batch. An anonymous lead that qualified earlier in the same batch still read as a visitor, so
 * it was merged as the less advanced lead and its hand-raise replayed: a second MQL (and a second
 * `lead.mql` notification) for one person. Fixed in merge-leads.ts: rank by the engine state's stage.
 */

const HOUR = 3_600_000;
const T0 = Date.parse("2026-04-01T09:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();
let n = 0;
const mid = () => `m-${++n}`;

describe.each(DATABASE_KINDS)("merge in the batch that qualified the absorbed lead (%s)", (kind) => {
  it("fires one MQL, not two", async () => {
    const clock = { now: T0 + 2 * HOUR };
    const s = await startTestService(kind, { clock: () => clock.now });
    try {
      const db = s.service.db;
      // A known lead, at stage `lead`, in an earlier batch.
      await sendOne(s, {
        type: "identify",
        messageId: mid(),
        userId: "yan",
        traits: { email: "yan@acme.com", title: "VP Marketing" },
        timestamp: iso(T0),
      });
      await sendOne(s, {
        type: "track",
        messageId: mid(),
        userId: "yan",
        event: "Form Submitted",
        timestamp: iso(T0 + 1),
      });
      await s.drain();
      const yan = (await leadIdOf(db, "yan")) as string;
      expect(
        (await db.query<{ stage: string }>("select stage from leads where id = $1", [yan]))[0]?.stage,
      ).toBe("lead");

      // One batch: an anonymous visitor qualifies (hand-raiser), then is identified as yan.
      clock.now = T0 + 3 * HOUR;
      await sendBatch(s, [
        {
          type: "identify",
          messageId: mid(),
          anonymousId: "anon-z",
          traits: { email: "yan@acme.com", title: "VP Marketing" },
          timestamp: iso(T0 + HOUR),
        },
        {
          type: "track",
          messageId: mid(),
          anonymousId: "anon-z",
          event: "Form Submitted",
          timestamp: iso(T0 + HOUR + 1),
        },
        {
          type: "track",
          messageId: mid(),
          anonymousId: "anon-z",
          event: "Demo Requested",
          timestamp: iso(T0 + HOUR + 2),
        },
        {
          type: "page",
          messageId: mid(),
          userId: "yan",
          anonymousId: "anon-z",
          properties: { path: "/docs" },
          timestamp: iso(T0 + 2 * HOUR),
        },
      ]);
      await s.drain();
      expect(await leadIdOf(db, "anon-z", "anonymous")).toBe(yan);
      const mqlRows = await db.query<{ lead_id: string }>(
        "select lead_id from transitions where to_stage = 'mql'",
      );
      expect(mqlRows).toHaveLength(1);
      expect(await outboxCount(db, "lead.mql")).toBe(1);
      expect((await storedTransitions(db, yan)).filter((t) => t.to === "mql").length).toBeLessThanOrEqual(1);
    } finally {
      await s.close();
    }
  });
});
