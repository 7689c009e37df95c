import { describe, expect, it } from "vitest";
import { leadIdOf, sendOne } from "../support/live-checks.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService } from "../support/test-service.js";

/**
 * Regression: erasure kept delivered outbox rows (payloads with the lead's ids, scores and merge
 * reasons naming its userIds and anonymousIds) and events set aside after failing (processed, no
 * lead, still holding the person's ids and traits). Fixed in erase-lead.ts.
 */

const T0 = Date.parse("2026-04-01T09:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();
let n = 0;
const mid = () => `e-${++n}`;

describe.each(DATABASE_KINDS)("erasure leaves nothing personal behind (%s)", (kind) => {
  it("removes delivered outbox rows and set-aside events too", async () => {
    const s = await startTestService(kind, { clock: () => T0 + 3_600_000 });
    try {
      const db = s.service.db;
      await sendOne(s, {
        type: "page",
        messageId: mid(),
        anonymousId: "anon-sue",
        properties: { path: "/" },
        timestamp: iso(T0),
      });
      await sendOne(s, {
        type: "identify",
        messageId: mid(),
        userId: "sue",
        traits: { email: "sue@acme.com" },
        timestamp: iso(T0 + 1),
      });
      await sendOne(s, {
        type: "track",
        messageId: mid(),
        userId: "sue",
        event: "Form Submitted",
        timestamp: iso(T0 + 2),
      });
      await sendOne(s, {
        type: "track",
        messageId: mid(),
        userId: "sue",
        event: "Demo Requested",
        timestamp: iso(T0 + 3),
      });
      await sendOne(s, {
        type: "alias",
        messageId: mid(),
        userId: "sue",
        previousId: "anon-sue",
        timestamp: iso(T0 + 4),
      });
      await s.drain();
      const id = (await leadIdOf(db, "sue")) as string;
      // Handoff delivered everything it was given.
      await db.query("update outbox set delivered_at = now()");
      expect((await db.query("select 1 from outbox where lead_id = $1", [id])).length).toBeGreaterThan(0);
      // An event of sue's that failed processing and was set aside (as run-pipeline quarantines it).
      await db.query(
        `insert into events (workspace_id, message_id, kind, type, user_id, at, received_at, input, processed, error)
         values ('default', 'bad-1', 'event', 'track', 'sue', $1, $1, $2, true, 'boom')`,
        [
          T0 + 5,
          JSON.stringify({
            kind: "event",
            type: "track",
            id: "bad-1",
            at: T0 + 5,
            event: "X",
            traits: { email: "sue@acme.com" },
          }),
        ],
      );
      const res = await s.api("DELETE", `/api/leads/${id}`);
      expect(res.status).toBe(200);
      const ids: string[] = res.body.erased;
      expect(await db.query("select topic from outbox where lead_id = any($1)", [ids])).toEqual([]);
      expect(await db.query("select seq from outbox where payload::text like '%sue%'")).toEqual([]);
      expect(
        await db.query(
          "select seq from events where user_id = 'sue' or anonymous_id = 'anon-sue' or previous_id = 'anon-sue'",
        ),
      ).toEqual([]);
    } finally {
      await s.close();
    }
  });
});
