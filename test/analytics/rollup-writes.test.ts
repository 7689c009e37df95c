import { describe, expect, it } from "vitest";
import { ROLLUP_TABLES } from "../../src/analytics/rollup.js";
import type { Database } from "../../src/db/database.js";
import { sendBatch } from "../support/live-checks.js";
import { expectRollupAsRebuilt, rollupOnce } from "../support/rollup-checks.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService } from "../support/test-service.js";

/**
 * A rollup step writes only the rows that changed. A lead whose last session grew by a call keeps
 * its stage stays, paths and attribution credits as they were stored (the same row versions), and
 * the rollups still equal a rebuild.
 */

const T0 = Date.UTC(2026, 8, 7, 10);
const iso = (ms: number) => new Date(ms).toISOString();
const page = (n: number, at: number) => ({
  type: "page",
  userId: "ada",
  messageId: `page-${n}`,
  name: "Pricing",
  context: { page: { url: "https://acme.example/pricing?utm_source=linkedin&utm_medium=paid-social" } },
  timestamp: iso(at),
});

/** Each rollup row of the lead, by table, with its row version (`xmin`). */
async function versions(db: Database, leadId: string) {
  const out: Record<string, string[]> = {};
  for (const table of ROLLUP_TABLES)
    out[table] = (
      await db.query<{ v: string }>(
        `select xmin::text || ' ' || row_to_json(t)::text as v from ${table} t where lead_id = $1`,
        [leadId],
      )
    )
      .map((r) => r.v)
      .sort();
  return out;
}

describe.each(DATABASE_KINDS)("the rollup's writes on %s", (kind) => {
  it("leaves the rows a new call did not change as they were", async () => {
    const service = await startTestService(kind, { clock: () => T0 + 3_600_000 });
    const db = service.service.db;
    try {
      await sendBatch(service, [
        {
          type: "identify",
          userId: "ada",
          messageId: "id-ada",
          traits: { email: "ada@bigco.example", title: "VP Marketing", company: { employee_count: 600 } },
          timestamp: iso(T0),
        },
        page(1, T0 + 60_000),
        {
          type: "track",
          userId: "ada",
          messageId: "demo",
          event: "Demo Requested",
          timestamp: iso(T0 + 120_000),
        },
      ]);
      await service.drain();
      await rollupOnce(db, 1_000);
      const [lead] = await db.query<{ id: string }>("select id from leads where user_id = 'ada'");
      const id = lead?.id as string;
      const before = await versions(db, id);
      expect(before.stage_stays?.length, "stays: lead, MQL").toBeGreaterThanOrEqual(2);
      expect(before.attribution_credits?.length).toBeGreaterThan(0);

      // Five minutes later, the same page from the same campaign: the session grows.
      await sendBatch(service, [page(2, T0 + 420_000)]);
      await service.drain();
      const step = await rollupOnce(db, 1_000);
      expect(step.leads).toBe(1);
      const after = await versions(db, id);
      expect(after.touchpoints, "the session grew").not.toEqual(before.touchpoints);
      for (const table of ["stage_stays", "lead_paths", "attribution_credits"])
        expect(after[table], `${table} kept`).toEqual(before[table]);
      await expectRollupAsRebuilt(db, "after the session grew");
    } finally {
      await service.close();
    }
  });
});
