import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountabilityReport } from "../../src/analytics/accountability-report.js";
import { ATTRIBUTION_MODELS, OUTCOMES, type Outcome } from "../../src/analytics/attribution.js";
import { attributionReport } from "../../src/analytics/attribution-report.js";
import { FUNNEL_STAGES, type FunnelStage, funnelReport } from "../../src/analytics/funnel-report.js";
import { type GenProfile, generateHistory } from "../../src/analytics/generate-history.js";
import { catchUpRollup } from "../../src/analytics/rollup.js";
import { writeProfiles, writeReps } from "../../src/analytics/write-history.js";
import type { Database } from "../../src/db/database.js";
import { DATABASE_KINDS, openTestDatabase } from "../support/test-database.js";

/**
 * The reports on a generated history (1,500 profiles over a year, as the benchmark's but smaller),
 * against answers counted straight from the generator's output in JavaScript: the funnel's stage
 * counts, attribution's totals and credits, and the handoff counts, over the year and a 90-day
 * window.
 */
const WS = "default";
const DAY = 86_400_000;
const START = Date.UTC(2025, 0, 6);
const REPS = [
  { id: "r1", team: "smb" },
  { id: "r2", team: "enterprise" },
];
const history = [...generateHistory({ seed: 11, profiles: 1_500, start: START, days: 365, reps: REPS })];

/** A stage counts as reached when the lead reached it or any stage after it. */
const AT_OR_BEYOND: Record<Exclude<FunnelStage, "visitor">, string[]> = {
  lead: ["lead", "recycled", "mql", "sal", "sql", "opportunity", "customer"],
  mql: ["mql", "sal", "sql", "opportunity", "customer"],
  sal: ["sal", "sql", "opportunity", "customer"],
  sql: ["sql", "opportunity", "customer"],
  opportunity: ["opportunity", "customer"],
  customer: ["customer"],
};

function reachedAt(p: GenProfile, stage: FunnelStage): number | null {
  if (stage === "visitor") return p.firstSeenAt;
  const times = p.transitions.filter((t) => AT_OR_BEYOND[stage].includes(t.to)).map((t) => t.at);
  return times.length === 0 ? null : Math.min(...times);
}

function expectedFunnel(from: number, to: number): Record<FunnelStage, number> {
  const out = Object.fromEntries(FUNNEL_STAGES.map((s) => [s, 0])) as Record<FunnelStage, number>;
  for (const p of history)
    for (const s of FUNNEL_STAGES) {
      const at = reachedAt(p, s);
      if (at !== null && at >= from && at < to) out[s]++;
    }
  return out;
}

const WINDOWS = [
  { name: "the year", from: START, to: START + 365 * DAY },
  { name: "a 90-day window", from: START + 100 * DAY, to: START + 190 * DAY },
];

describe.each(DATABASE_KINDS)("reports on a generated history on %s", (kind) => {
  let db: Database;

  beforeAll(async () => {
    db = await openTestDatabase(kind);
    await writeReps(db, WS, REPS);
    await db.transaction((tx) => writeProfiles(tx, WS, history));
    await catchUpRollup(db, WS);
  }, 120_000);
  afterAll(async () => {
    await db.close();
  });

  it.each(WINDOWS)("the funnel counts each stage as the generator made it, over $name", async (w) => {
    const r = await funnelReport(db, WS, { from: w.from, to: w.to }, "range");
    const got = Object.fromEntries(r.total.map((s) => [s.stage, s.count]));
    expect(got).toEqual(expectedFunnel(w.from, w.to));
  });

  it.each(WINDOWS)(
    "attribution's totals are the funnel's, and every model credits all of them, over $name",
    async (w) => {
      const r = await attributionReport(db, WS, { from: w.from, to: w.to }, "channel");
      const f = expectedFunnel(w.from, w.to);
      const want: Record<Outcome, number> = {
        lead: f.lead,
        mql: f.mql,
        sql: f.sql,
        opportunity: f.opportunity,
        won: f.customer,
      };
      for (const o of OUTCOMES) expect(r.totals[o]).toBe(want[o]);
      for (const m of ATTRIBUTION_MODELS)
        for (const o of OUTCOMES) {
          const sum = r.rows.reduce((a, row) => a + row.models[m][o], 0);
          expect(sum).toBeCloseTo(want[o], 6);
        }
      const leads = history.filter((p) =>
        (["lead", "mql", "sql", "opportunity", "customer"] as const).some((s) => {
          const at = reachedAt(p, s);
          return at !== null && at >= w.from && at < w.to;
        }),
      ).length;
      expect(r.leads).toBe(leads);
    },
  );

  it.each(WINDOWS)(
    "the handoff report counts the generator's handoffs, re-MQLs and rejections, over $name",
    async (w) => {
      const r = await accountabilityReport(db, WS, { from: w.from, to: w.to }, START + 365 * DAY);
      const handoffs = history.flatMap((p) => p.handoffs).filter((h) => h.mqlAt >= w.from && h.mqlAt < w.to);
      expect(r.recycling.handoffs).toBe(handoffs.length);
      expect(r.recycling.reMqls).toBe(handoffs.filter((h) => h.kind === "re-mql").length);
      expect(r.leads).toBe(new Set(handoffs.map((h) => h.leadId)).size);
      expect(r.weekly.reduce((n, x) => n + x.mqls, 0)).toBe(handoffs.length);
      const rejected = handoffs.filter((h) => h.status === "rejected");
      expect(r.rejections.reduce((n, x) => n + x.count, 0)).toBe(rejected.length);
    },
  );
});
