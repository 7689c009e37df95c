import { accountabilityReport } from "../src/analytics/accountability-report.js";
import { attributionReport } from "../src/analytics/attribution-report.js";
import { funnelReport } from "../src/analytics/funnel-report.js";
import { pathsReport } from "../src/analytics/paths-report.js";
import { Random } from "../src/analytics/random.js";
import type { ReportFilter } from "../src/analytics/report-filter.js";
import {
  catchUpRollup,
  ROLLUP_TABLES,
  saveAnalyticsConfig,
  storedAnalyticsConfig,
} from "../src/analytics/rollup.js";
import { velocityReport } from "../src/analytics/velocity-report.js";
import { writeHistory } from "../src/analytics/write-history.js";
import type { Database } from "../src/db/database.js";
import { migrate } from "../src/db/migrate.js";
import { openPostgres } from "../src/db/open-postgres.js";
import { fmt, quantile, verdict } from "./measure.js";
import { freshDatabase } from "./qualify-processes.js";

/**
 * Funnel analytics on a generated history (issue 7), on PostgreSQL (DATABASE_URL; a database of
 * its own, dropped after): BENCH_ANALYTICS_PROFILES (1,000,000) profiles over a year, about 10
 * events and 3 transitions each (`src/analytics/generate-history.ts`, seeded). It reports:
 * 1. writing the history (rows/s), a raw limit for what follows;
 * 2. building the rollups from it (`catchUpRollup`, as the rollup job does): events/s;
 * 3. each report over BENCH_ANALYTICS_RUNS (20) 90-day windows at seeded offsets: p50 and p99.
 *    Target: p99 under 2 s for every report, under 300 ms for the funnel summary.
 * BENCH_ANALYTICS_KEEP=1 keeps the database; BENCH_ANALYTICS_DB=<url> times the reports on a kept
 * one again (with BENCH_ANALYTICS_REBUILD=1, after emptying and rebuilding its rollups).
 */

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const PROFILES = env("BENCH_ANALYTICS_PROFILES", 1_000_000);
const RUNS = env("BENCH_ANALYTICS_RUNS", 20);
const DAYS = 365;
const WINDOW_DAYS = 90;
const DAY = 86_400_000;
const START = Date.UTC(2025, 0, 6);
const WS = "default";
const BATCH = 2_000;
const REPS = Array.from({ length: 24 }, (_, i) => ({
  id: `rep-${i}`,
  team: ["smb", "mid-market", "enterprise"][i % 3] as string,
}));

const out = (line = "") => process.stdout.write(`${line}\n`);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function write(
  db: Database,
): Promise<{ events: number; transitions: number; handoffs: number; ms: number }> {
  const t0 = performance.now();
  const counts = await writeHistory(
    db,
    WS,
    {
      seed: 7,
      profiles: PROFILES,
      start: START,
      days: DAYS,
      reps: REPS,
    },
    BATCH,
  );
  await db.query("analyze");
  return { ...counts, ms: performance.now() - t0 };
}

/** Steps 1 and 2: writes the history, then builds the rollups from it as the rollup job does. */
async function build(db: Database): Promise<void> {
  const w = await write(db);
  const rows = PROFILES + w.events + w.transitions + w.handoffs;
  out(
    `1. history: ${fmt(PROFILES)} profiles, ${fmt(w.events)} events, ${fmt(w.transitions)} transitions, ${fmt(w.handoffs)} handoffs written in ${secs(w.ms)} (${fmt((rows / w.ms) * 1000)} rows/s)`,
  );
  await rebuild(db, w.events, w.ms);
}

/**
 * Step 2: the rollups built from the stored history, as the rollup job does, then `vacuum
 * analyze`, as autovacuum would after a bulk change (it is off on this machine's PostgreSQL).
 */
async function rebuild(db: Database, events: number, writeMs: number | null): Promise<void> {
  const t1 = performance.now();
  const leads = await catchUpRollup(db, WS);
  const rollupMs = performance.now() - t1;
  const share =
    writeMs === null ? "" : ` (${((rollupMs / writeMs) * 100).toFixed(0)} % of the time to write them)`;
  out(
    `2. rollups built: ${fmt(leads)} leads, ${fmt(events)} events in ${secs(rollupMs)}: ${fmt((events / rollupMs) * 1000)} events/s${share}`,
  );
  await db.query("vacuum analyze");
}

interface Report {
  name: string;
  targetMs: number;
  run: (f: ReportFilter) => Promise<unknown>;
}

async function main(): Promise<void> {
  const base = process.env.DATABASE_URL;
  out("# Analytics benchmark");
  if (!base) {
    out("DATABASE_URL is not set: the analytics benchmark runs on PostgreSQL only; skipped.");
    return;
  }
  // BENCH_ANALYTICS_DB: the database a kept run left (BENCH_ANALYTICS_KEEP), to time the reports again.
  const reuse = process.env.BENCH_ANALYTICS_DB;
  const pg = reuse ? { url: reuse, drop: async () => {} } : await freshDatabase(base);
  const migrator = openPostgres(pg.url, { poolSize: 1, statementTimeoutMs: 0 });
  await migrate(migrator);
  await migrator.close();
  const db = openPostgres(pg.url, { poolSize: 4, statementTimeoutMs: 0 });
  try {
    if (!reuse) await build(db);
    else if (process.env.BENCH_ANALYTICS_REBUILD === "1") {
      // The kept history, its rollups emptied (truncated, so that the files start empty as in a
      // fresh database) and built again (step 1 skipped).
      await db.query(`truncate ${ROLLUP_TABLES.join(", ")}`);
      await db.transaction(async (tx) => saveAnalyticsConfig(tx, WS, await storedAnalyticsConfig(tx, WS)));
      const [n] = await db.query<{ n: number }>(
        "select count(*)::int as n from events where workspace_id = $1",
        [WS],
      );
      out(`reusing ${reuse}: its history (step 1 skipped), the rollups rebuilt`);
      await rebuild(db, Number(n?.n ?? 0), null);
    } else out(`reusing ${reuse}: the history and rollups it holds (steps 1 and 2 skipped)`);
    const t2 = performance.now();
    await catchUpRollup(db, WS);
    out(`   a report's catch-up when the rollups are current: ${(performance.now() - t2).toFixed(1)} ms`);

    const reports: Report[] = [
      { name: "funnel summary (range)", targetMs: 300, run: (f) => funnelReport(db, WS, f, "range") },
      {
        name: "funnel by channel",
        targetMs: 2000,
        run: (f) => funnelReport(db, WS, { ...f, by: "channel" }, "range"),
      },
      {
        name: "funnel weekly cohorts",
        targetMs: 2000,
        run: (f) => funnelReport(db, WS, f, "cohort", "week"),
      },
      {
        name: "funnel by team",
        targetMs: 2000,
        run: (f) => funnelReport(db, WS, { ...f, by: "team" }, "range"),
      },
      { name: "velocity", targetMs: 2000, run: (f) => velocityReport(db, WS, f) },
      {
        name: "handoff accountability",
        targetMs: 2000,
        run: (f) => accountabilityReport(db, WS, f, START + DAYS * DAY),
      },
      { name: "conversion paths", targetMs: 2000, run: (f) => pathsReport(db, WS, f, 20) },
      { name: "attribution by channel", targetMs: 2000, run: (f) => attributionReport(db, WS, f, "channel") },
    ];
    const rng = new Random(11);
    const windows = Array.from({ length: RUNS }, () => {
      const from = START + rng.int(DAYS - WINDOW_DAYS) * DAY;
      return { from, to: from + WINDOW_DAYS * DAY };
    });
    out(`3. reports over ${RUNS} windows of ${WINDOW_DAYS} days (PostgreSQL, pool 4):`);
    let all = true;
    for (const r of reports) {
      await r.run(windows[0] as ReportFilter); // warm
      const times: number[] = [];
      for (const win of windows) {
        const t = performance.now();
        await r.run(win as ReportFilter);
        times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      const p99 = quantile(times, 0.99);
      const ok = p99 < r.targetMs;
      all &&= ok;
      out(
        `   ${r.name.padEnd(26)} p50 ${fmt(quantile(times, 0.5)).padStart(6)} ms  p99 ${fmt(p99).padStart(6)} ms   target p99 < ${fmt(r.targetMs)} ms: ${verdict(ok)}`,
      );
    }
    out(`   all reports within target: ${verdict(all)}`);
  } finally {
    await db.close();
    // BENCH_ANALYTICS_KEEP=1 keeps the database, to look at the reports' plans (bench/README.md).
    if (process.env.BENCH_ANALYTICS_KEEP === "1") out(`   kept the database: ${pg.url}`);
    else await pg.drop();
  }
}

await main();
