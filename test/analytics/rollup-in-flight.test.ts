import { describe, expect, it } from "vitest";
import type { Database, Queryable } from "../../src/db/database.js";
import { appendEvents } from "../../src/ingest/append-events.js";
import { parseSegmentEvent } from "../../src/ingest/parse-segment-event.js";
import { toRow } from "../../src/ingest/segment-routes.js";
import { postIngest } from "../support/live-checks.js";
import { expectRollupAsRebuilt, rollupOnce } from "../support/rollup-checks.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService, type TestService } from "../support/test-service.js";

/**
 * Transactions left open while events are stored, processed and rolled up (PostgreSQL: PGlite runs
 * one transaction at a time). An ingest that has taken its seq but not committed: the rollup must
 * not move past it, or the event would be behind the watermark when it commits, and its lead, with
 * no later event, missing from the analytics for good. A read that stays open: the rollup goes on.
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

/** Runs `work` in a transaction that stays open until `release`; resolves once `work` is done. */
async function holdOpen<T>(db: Database, work: (tx: Queryable) => Promise<T>) {
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let ended: Promise<void> = Promise.resolve();
  const result = await new Promise<T>((done, failed) => {
    ended = db
      .transaction(async (tx) => {
        done(await work(tx));
        await released;
      })
      .catch(failed);
  });
  return {
    result,
    release: () => {
      release();
      return ended;
    },
  };
}

/** Two calls, stored and processed. */
async function sendLater(service: TestService): Promise<void> {
  await postIngest(service, "/v1/batch", {
    batch: ["early-1", "early-2"].map((u, i) => identify(u, T0 + (i + 1) * 60_000)),
  });
  await service.drain();
}

describe.skipIf(!DATABASE_KINDS.includes("postgres"))("the rollup and transactions left open", () => {
  it("waits for an ingest still in flight, then takes its event in", { timeout: 30_000 }, async () => {
    const service = await startTestService("postgres", { clock: () => T0 + 3_600_000 });
    const db = service.service.db;
    const parsed = parseSegmentEvent(identify("late", T0), T0);
    if (!parsed.ok) throw new Error(parsed.reason);
    const ingest = await holdOpen(db, (tx) =>
      appendEvents(holding(tx), [toRow("default", parsed.event, T0)]),
    );
    try {
      const seq = ingest.result[0] as number;
      await sendLater(service);
      const [last] = await db.query<{ seq: number }>("select max(seq) as seq from events");
      expect(Number(last?.seq)).toBeGreaterThan(seq);

      const step = await rollupOnce(db, 1_000);
      expect(step.leads, "the step stops below the open event").toBe(0);
      const [mark] = await db.query<{ value: { events: number } }>(
        "select value from service_state where key = 'analytics.rollup'",
      );
      expect(mark?.value.events).toBeLessThan(seq);

      await ingest.release();
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
      await ingest.release();
      await service.close();
    }
  });

  it("is not held back by a read that stays open", { timeout: 30_000 }, async () => {
    const service = await startTestService("postgres", { clock: () => T0 + 3_600_000 });
    const db = service.service.db;
    const read = await holdOpen(db, (tx) => tx.query("select count(*) from events"));
    try {
      await sendLater(service);
      const step = await rollupOnce(db, 1_000);
      expect(step.leads).toBe(2);
      await expectRollupAsRebuilt(db, "with a read open");
    } finally {
      await read.release();
      await service.close();
    }
  });
});
