import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Random } from "../src/analytics/random.js";
import { writeHistory } from "../src/analytics/write-history.js";
import { loadConfig } from "../src/config/load-config.js";
import { migrate } from "../src/db/migrate.js";
import { openPostgres } from "../src/db/open-postgres.js";
import { parseModel } from "../src/engine/index.js";
import { backtest } from "../src/lab/backtest/backtest.js";
import type { Dataset, Feature } from "../src/lab/fit/dataset.js";
import { CAPS } from "../src/lab/fit/event-counts.js";
import { DEFAULT_FIT } from "../src/lab/fit/fit-report.js";
import { fitLogistic } from "../src/lab/fit/logistic-baseline.js";
import { runFit } from "../src/lab/fit/run-fit.js";
import { streamLeads, streamLeadTexts } from "../src/pipeline/rescore-stream.js";
import { fmt, verdict } from "./measure.js";
import { freshDatabase } from "./qualify-processes.js";

/**
 * The model lab's speed (issue 8):
 * 1. **fit** on BENCH_LAB_FIT_LEADS (100,000) labelled leads with 25 traits and 30 event counts
 *    (generated here, seeded): the whole `model fit` (5-fold cross-validation of the points model and the logistic
 *    baseline, the final fit, the tables). Target: under 60 s. Beside it, one logistic fit on all
 *    the leads.
 * 2. **backtest** (PostgreSQL, DATABASE_URL) of the default model on a generated history of
 *    BENCH_LAB_PROFILES (1,000,000) profiles, about 11 million events, streamed from the
 *    database: events/s and peak RSS. Target: 200,000 events/s with RSS under 1.5 GB. Beside it,
 *    the rate of reading the same stored inputs without replaying them, parsed and as text. It
 *    replays on QUALIFY_BACKTEST_THREADS worker threads, as the server does. BENCH_LAB_DB=<url>
 *    runs it on a database a kept benchmark left (BENCH_LAB_KEEP=1 or BENCH_ANALYTICS_KEEP=1)
 *    instead.
 * BENCH_LAB_PARTS=fit or =backtest runs one of the two.
 */

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const out = (s: string) => process.stdout.write(`${s}\n`);
const WS = "default";
const DAY = 86_400_000;
const COUNT_FEATURES = 30;

function labelledLeads(n: number): Dataset {
  const rng = new Random(3);
  const z = new Float64Array(n).fill(-1);
  const features: Feature[] = [];
  for (let f = 0; f < 25; f++) {
    if (f % 2 === 0) {
      const values: (number | null)[] = [];
      for (let i = 0; i < n; i++) {
        const x = rng.exponential(5);
        values.push(rng.chance(0.03) ? null : Math.round(x));
        z[i] = (z[i] as number) + 0.05 * Math.min(x, 10) * ((f % 4) - 1);
      }
      features.push({ name: `count_${f}`, kind: "numeric", values });
    } else {
      const values: (string | null)[] = [];
      for (let i = 0; i < n; i++) {
        const k = rng.int(8);
        values.push(`value ${k}`);
        z[i] = (z[i] as number) + (k - 3.5) * 0.05;
      }
      features.push({ name: `trait_${f}`, kind: "categorical", values });
    }
  }
  // Event counts, as `event-counts.ts` gives them: each under every cap.
  for (let f = 0; f < COUNT_FEATURES; f++) {
    const counts = Float64Array.from({ length: n }, () => rng.poisson(0.3 + (f % 5) * 0.4));
    counts.forEach((c, i) => {
      z[i] = (z[i] as number) + 0.15 * Math.min(c, 3) * ((f % 3) - 0.5);
    });
    features.push({
      name: `events_${f}`,
      kind: "count",
      term: { source: "generated", match: `Event ${f}`, window: "30d" },
      caps: [...CAPS],
      values: CAPS.map((cap) => (cap === null ? counts : counts.map((c) => Math.min(c, cap)))),
    });
  }
  return { features, labels: Uint8Array.from(z, (v) => (rng.next() < 1 / (1 + Math.exp(-v)) ? 1 : 0)) };
}

async function fitBenchmark(): Promise<void> {
  const n = env("BENCH_LAB_FIT_LEADS", 100_000);
  const d = labelledLeads(n);
  const rows = Array.from({ length: n }, (_, i) => i);
  let t = performance.now();
  fitLogistic(d, rows);
  const logistic = (performance.now() - t) / 1000;
  t = performance.now();
  const threads = availableParallelism();
  const r = await runFit(d, { ...DEFAULT_FIT, outcome: "won" }, threads);
  const secs = (performance.now() - t) / 1000;
  const cv = r.crossValidation;
  out(
    `1. fit on ${fmt(n)} labelled leads, 25 traits and ${COUNT_FEATURES} event counts: ${secs.toFixed(1)} s on ${threads} threads (target < 60 s: ${verdict(secs < 60)}); one logistic fit on all of them: ${logistic.toFixed(1)} s`,
  );
  out(
    `   ROC AUC ${cv.additive.rocAuc.mean.toFixed(4)} ± ${cv.additive.rocAuc.sd.toFixed(4)} (logistic ${cv.logistic.rocAuc.mean.toFixed(4)})`,
  );
}

async function backtestBenchmark(): Promise<void> {
  const base = process.env.DATABASE_URL;
  if (!base) {
    out("2. backtest: DATABASE_URL is not set; it runs on PostgreSQL only: skipped.");
    return;
  }
  const kept = process.env.BENCH_LAB_DB;
  const pg = kept ? { url: kept, drop: async () => {} } : await freshDatabase(base);
  const db = openPostgres(pg.url, { poolSize: 2, statementTimeoutMs: 0 });
  try {
    await migrate(db);
    if (!kept) {
      const profiles = env("BENCH_LAB_PROFILES", 1_000_000);
      const reps = [{ id: "rep-1", team: "sales" }];
      const t = performance.now();
      await writeHistory(db, WS, { seed: 7, profiles, start: Date.UTC(2025, 0, 6), days: 365, reps }, 2_000);
      await db.query("vacuum analyze");
      out(
        `   history of ${fmt(profiles)} profiles written in ${((performance.now() - t) / 1000).toFixed(0)} s`,
      );
    }
    let events = 0;
    let t = performance.now();
    for await (const page of streamLeads(db, WS, { context: false }))
      for (const l of page) events += l.inputs.length;
    const readRate = events / ((performance.now() - t) / 1000);
    t = performance.now();
    for await (const _ of streamLeadTexts(db, WS, { context: false }));
    const textRate = events / ((performance.now() - t) / 1000);
    const threads = loadConfig(process.env).backtestThreads;
    const model = parseModel(readFileSync("models/default.yaml", "utf8"), "models/default.yaml");
    let peak = 0;
    const sample = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 100);
    t = performance.now();
    const r = await backtest(db, WS, [{ label: "default", model }], {
      from: Date.UTC(2025, 0, 6),
      to: Date.UTC(2025, 0, 6) + 365 * DAY,
      examples: 0,
      threads,
    });
    const secs = (performance.now() - t) / 1000;
    clearInterval(sample);
    peak = Math.max(peak, process.memoryUsage().rss);
    const rate = r.events / secs;
    out(
      `2. backtest of the default model: ${fmt(r.leads)} leads, ${fmt(r.events)} events in ${secs.toFixed(1)} s: ${fmt(rate)} events/s (target ≥ 200,000: ${verdict(rate >= 200_000)}), peak RSS ${fmt(peak / 1e6)} MB (target < 1,500 MB: ${verdict(peak < 1.5e9)})`,
    );
    out(
      `   on ${threads} replay threads; limit: reading the same stored inputs without replaying them: ${fmt(readRate)} events/s parsed, ${fmt(textRate)} events/s as text`,
    );
  } finally {
    await db.close();
    if (process.env.BENCH_LAB_KEEP === "1" && !kept) out(`   kept: BENCH_LAB_DB=${pg.url}`);
    else await pg.drop();
  }
}

out("# Model lab benchmark");
const parts = (process.env.BENCH_LAB_PARTS ?? "fit,backtest").split(",");
if (parts.includes("fit")) await fitBenchmark();
if (parts.includes("backtest")) await backtestBenchmark();
