import { randomBytes } from "node:crypto";
import pg from "pg";
import { catchUpRollup } from "../src/analytics/rollup.js";
import { startService } from "../src/api/start-service.js";
import { loadConfig } from "../src/config/load-config.js";
import { withDatabase } from "../src/db/database-url.js";
import { LiveStream } from "./live-stream.js";
import { qualifySettings } from "./qualify-processes.js";

/**
 * Processing alone, for profiling: stores a dataset's Segment calls with processing stopped, then
 * drains the pipeline in this process and prints events/s (BENCH_SQL_TIMES=1 adds the time spent
 * in each statement). Run under `node --cpu-prof` (see bench/README.md). Needs DATABASE_URL;
 * BENCH_EVENTS sizes it; BENCH_KEEP=1 keeps its database for a look afterwards. BENCH_ROLLUP=N
 * then runs N rounds of the analytics rollup, each after another BENCH_EVENTS are stored and
 * processed (so later rounds roll up on top of a history, as the live job does).
 */
const EVENTS = Number(process.env.BENCH_EVENTS ?? 50_000);
const ROLLUP_ROUNDS = Number(process.env.BENCH_ROLLUP ?? 0);
const WRITE_KEY = "wk_bench_0123456789abcdef";

async function main() {
  const base = process.env.DATABASE_URL;
  if (!base) throw new Error("set DATABASE_URL");
  const name = `qualify_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  try {
    // QUALIFY_* settings apply (QUALIFY_PIPELINE_BATCH_MAX=500 keeps batches of 500).
    const config = loadConfig({
      ...qualifySettings(),
      DATABASE_URL: withDatabase(base, name),
      LOG_LEVEL: "warn",
      QUALIFY_WRITE_KEY: WRITE_KEY,
    });
    const running = await startService(config, { listen: false, processing: false });
    const stream = new LiveStream(7, "profile");
    const auth = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString("base64")}`;
    const ingest = async () => {
      for (let i = 0; i < EVENTS; i += 100) {
        const res = await running.app.inject({
          method: "POST",
          url: "/v1/batch",
          headers: { authorization: auth, "content-type": "application/json" },
          payload: JSON.stringify({ batch: stream.batch(100, Date.now()) }),
        });
        if (res.statusCode !== 200) throw new Error(res.body);
      }
    };
    await ingest();
    // As autovacuum would have by now: the planner knows the table is large.
    await running.service.db.query("analyze events");
    const timing = new Map<string, { n: number; ms: number }>();
    if (process.env.BENCH_SQL_TIMES) {
      const db = running.service.db as { transaction: typeof running.service.db.transaction };
      const original = db.transaction.bind(db);
      db.transaction = (fn) =>
        original((tx) =>
          fn({
            ...tx,
            async query(sql, params) {
              const t = performance.now();
              try {
                return await tx.query(sql, params);
              } finally {
                const key = sql.replace(/\s+/g, " ").slice(0, 90);
                const e = timing.get(key) ?? { n: 0, ms: 0 };
                e.n++;
                e.ms += performance.now() - t;
                timing.set(key, e);
              }
            },
          }),
        );
    }
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const n = await running.service.pipeline.drain();
    const s = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    process.stdout.write(
      `processed ${n} events in ${s.toFixed(1)} s: ${Math.round(n / s)} events/s; this process used ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s of CPU\n`,
    );
    const printTimes = () => {
      for (const [k, v] of [...timing].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15))
        process.stdout.write(`${v.ms.toFixed(0).padStart(7)} ms ${String(v.n).padStart(7)}x  ${k}\n`);
      timing.clear();
    };
    printTimes();
    for (let round = 1; round <= ROLLUP_ROUNDS; round++) {
      if (round > 1) {
        await ingest();
        await running.service.pipeline.drain();
        timing.clear();
      }
      // As the live service's statistics refresh would have by then (start-service.ts).
      await running.service.db.query("analyze");
      const r0 = performance.now();
      const leads = await catchUpRollup(running.service.db, "default");
      process.stdout.write(
        `rollup round ${round}: ${leads} lead redos for ${EVENTS} new events in ${((performance.now() - r0) / 1000).toFixed(1)} s\n`,
      );
      printTimes();
    }
    await running.close();
  } finally {
    if (process.env.BENCH_KEEP) process.stdout.write(`kept database ${name}\n`);
    else await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

await main();
