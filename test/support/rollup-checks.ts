import { expect } from "vitest";
import { catchUpRollup, ROLLUP_TABLES, rollupStep } from "../../src/analytics/rollup.js";
import type { Database } from "../../src/db/database.js";

/** Every row of the analytics rollups, in a stable order. */
async function snapshot(db: Database, ws: string): Promise<Record<string, unknown[]>> {
  const order: Record<string, string> = {
    touchpoints: "lead_id, idx",
    lead_funnel: "lead_id",
    lead_paths: "lead_id",
    stage_stays: "lead_id, seq",
    attribution_credits: "lead_id, outcome, channel nulls first, source nulls first, campaign nulls first",
  };
  const out: Record<string, unknown[]> = {};
  for (const table of ROLLUP_TABLES)
    out[table] = await db.query(`select * from ${table} where workspace_id = $1 order by ${order[table]}`, [
      ws,
    ]);
  return out;
}

/** One rollup step of at most `maxFacts` events, as the live job runs it. */
export function rollupOnce(db: Database, maxFacts: number, ws = "default") {
  return db.transaction((tx) => rollupStep(tx, ws, { maxFacts, paced: true }));
}

/**
 * Catches the rollups up, then checks that they hold what a rebuild from scratch (rows emptied,
 * watermark reset) makes of the same stored facts. Returns the rows.
 */
export async function expectRollupAsRebuilt(db: Database, label: string, ws = "default") {
  await catchUpRollup(db, ws);
  const kept = await snapshot(db, ws);
  await db.transaction(async (tx) => {
    for (const table of ROLLUP_TABLES) await tx.query(`delete from ${table} where workspace_id = $1`, [ws]);
    await tx.query("delete from service_state where workspace_id = $1 and key = 'analytics.rollup'", [ws]);
  });
  await catchUpRollup(db, ws);
  for (const table of ROLLUP_TABLES)
    expect(kept[table], `${label}: ${table}`).toEqual((await snapshot(db, ws))[table]);
  return kept;
}
