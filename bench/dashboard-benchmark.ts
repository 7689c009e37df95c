import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadDemo } from "../src/analytics/load-demo.js";
import { catchUpRollup } from "../src/analytics/rollup.js";
import { startService } from "../src/api/start-service.js";
import { loadConfig } from "../src/config/load-config.js";
import { fmt, quantile, verdict } from "./measure.js";
import { freshDatabase } from "./qualify-processes.js";

/**
 * The dashboard's leads table on demo data scaled to BENCH_DASHBOARD_LEADS (100,000) profiles
 * (`qualify demo`'s history, scores and rollups), through a real `qualify start` in this process:
 * the first page and each filter change as the table asks for them (`GET /api/leads`, 50 rows),
 * BENCH_DASHBOARD_RUNS (20) times each. Target: p99 under 300 ms. PostgreSQL with DATABASE_URL (a
 * database of its own), else embedded PGlite in a temporary directory.
 */
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const out = (s: string) => process.stdout.write(`${s}\n`);
const TOKEN = "qlf_bench_dashboard_token_01";
const LEADS = env("BENCH_DASHBOARD_LEADS", 100_000);
const RUNS = env("BENCH_DASHBOARD_RUNS", 20);

const VIEWS: [string, string][] = [
  ["first page (newest activity)", ""],
  ["stage = mql", "stage=mql"],
  ["grade = A", "grade=A"],
  ["engagement ≥ 50", "minScore=50"],
  ["engagement 20–60, sorted by engagement", "minScore=20&maxScore=60&sort=-score"],
  ["owner = a rep", "owner=demo-rep-1"],
  ["channel = paid-search", "channel=paid-search"],
  ["text 'co12'", "q=co12"],
  ["sorted by MQL time", "sort=-mqlAt"],
  ["stage = sal, grade = B, by engagement", "stage=sal&grade=B&sort=-score"],
  ["page 2 of stage = mql", "stage=mql&page=2"],
];

out("# Dashboard benchmark: the leads table");
const base = process.env.DATABASE_URL;
const pg = base ? await freshDatabase(base) : null;
const dir = pg ? null : mkdtempSync(join(tmpdir(), "qualify-dashboard-bench-"));
const running = await startService(
  loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    QUALIFY_ADMIN_TOKEN: TOKEN,
    ...(pg ? { DATABASE_URL: pg.url } : { QUALIFY_DATA_DIR: dir as string }),
  }),
);
try {
  const db = running.service.db;
  let t = performance.now();
  const demo = await loadDemo(db, "default", { profiles: LEADS, days: 182, seed: 1 }, Date.now());
  await catchUpRollup(db, "default");
  await db.query("analyze");
  out(
    `${db.kind === "postgres" ? "PostgreSQL" : "PGlite"}: ${fmt(demo.profiles)} demo profiles, ${fmt(demo.events)} events, scored and rolled up in ${((performance.now() - t) / 1000).toFixed(0)} s`,
  );
  const get = async (query: string) => {
    const res = await fetch(`${running.url}/api/leads?limit=50&${query}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    if (!res.ok) throw new Error(`${query}: ${res.status} ${await res.text()}`);
    return (await res.json()) as { items: unknown[]; nextCursor: string | null };
  };
  let worst = 0;
  for (const [name, q] of VIEWS) {
    // Page 2 follows the first page's cursor, as the table's Next button does.
    let query = q;
    if (q.endsWith("page=2")) {
      const first = await get(q.replace(/&?page=2/, ""));
      query = `${q.replace(/&?page=2/, "")}&cursor=${first.nextCursor ?? ""}`;
    }
    await get(query);
    const times: number[] = [];
    let rows = 0;
    for (let i = 0; i < RUNS; i++) {
      t = performance.now();
      rows = (await get(query)).items.length;
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const p99 = quantile(times, 0.99);
    worst = Math.max(worst, p99);
    out(
      `  ${name.padEnd(42)} ${String(rows).padStart(3)} rows  p50 ${quantile(times, 0.5).toFixed(1)} ms  p99 ${p99.toFixed(1)} ms`,
    );
  }
  out(`worst p99 ${worst.toFixed(1)} ms (target < 300 ms: ${verdict(worst < 300)})`);
} finally {
  await running.close();
  await pg?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
