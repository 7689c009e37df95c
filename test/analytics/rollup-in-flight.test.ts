import { describe, expect, it } from "vitest";
import type { Database, Queryable } from "../../src/db/database.js";
import { appendEvents } from "../../src/ingest/append-events.js";
import { parseSegmentEvent } from "../../src/ingest/parse-segment-event.js";
import { toRow } from "../../src/ingest/segment-routes.js";
import { postIngest } from "../support/live-checks.js";
import { expectRollupAsRebuilt, rollupOnce } from "../support/rollup-checks.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService } from "../support/test-service.js";

/**
 * An ingest transaction that has taken its seq but not committed while later events are stored,
 * processed and rolled up (PostgreSQL: PGlite runs one transaction at a time). The rollup must not
 * move past the open event, or it would be behind the watermark when it commits, and its lead,
 * with no later event, would be missing from the analytics for good.
 */

const T0 = Date.UTC(2026, 8, 7, 10);
const iso = (ms: number) => new Date(ms).toISOString();

/** Ingest's own insert, run in a transaction the test holds open. */
const holding = (tx: Queryable): Database => ({
  kind: "postgres",
  query: (sql, params) => tx.query(sql, params),
  exec: (sql) => tx.exec(sql),
  transaction: (fn) => fn(tx),
  sync: async () => undefined,
  close: async () => undefined,
});

const identify = (userId: string, at: number) => ({
  type: "identify",
  userId,
  messageId: `identify-${userId}`,
  traits: { email: `${userId}@bigco.example`, title: "VP Marketing" },
  context: { page: { url: "https://acme.example/?utm_source=linkedin&utm_medium=paid-social" } },
  timestamp: iso(at),
});

describe.skipIf(!DATABASE_KINDS.includes("postgres"))("the rollup and an ingest still in flight", () => {
  it("waits for the open transaction, then takes its event in", { timeout: 30_000 }, async () => {
    const service = await startTestService("postgres", { clock: () => T0 + 3_600_000 });
    const db = service.service.db;
    let commit: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      commit = resolve;
    });
    try {
      const parsed = parseSegmentEvent(identify("late", T0), T0);
      if (!parsed.ok) throw new Error(parsed.reason);
      let seq = 0;
      const stored = new Promise<void>((storedIt, failed) => {
        db.transaction(async (tx) => {
          [seq = 0] = (await appendEvents(holding(tx), [toRow("default", parsed.event, T0)])) as number[];
          storedIt();
          await released;
        }).catch(failed);
      });
      await stored;
      // Later calls, stored and processed while the first is still open.
      await postIngest(service, "/v1/batch", {
        batch: ["early-1", "early-2"].map((u, i) => identify(u, T0 + (i + 1) * 60_000)),
      });
      await service.drain();
      const [last] = await db.query<{ seq: number }>("select max(seq) as seq from events");
      expect(Number(last?.seq)).toBeGreaterThan(seq);

      const step = await rollupOnce(db, 1_000);
      expect(step.leads, "the step stops below the open event").toBe(0);
      const [mark] = await db.query<{ value: { events: number } }>(
        "select value from service_state where key = 'analytics.rollup'",
      );
      expect(mark?.value.events).toBeLessThan(seq);

      commit();
      await service.drain();
      const rows = await expectRollupAsRebuilt(db, "after the open transaction committed");
      const leads = await db.query<{ id: string; user_id: string }>("select id, user_id from leads");
      const touched = new Set((rows.touchpoints as { lead_id: string }[]).map((t) => t.lead_id));
      expect(leads.map((l) => [l.user_id, touched.has(l.id)]).sort()).toEqual([
        ["early-1", true],
        ["early-2", true],
        ["late", true],
      ]);
    } finally {
      commit();
      await service.close();
    }
  });
});
