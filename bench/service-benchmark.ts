import pg from "pg";
import { migrate } from "../src/db/migrate.js";
import { openPostgres } from "../src/db/open-postgres.js";
import type { NewEvent } from "../src/ingest/append-events.js";
import { parseSegmentEvent } from "../src/ingest/parse-segment-event.js";
import { copyRows, ratio } from "./ingest-load.js";
import { LiveStream } from "./live-stream.js";
import { fmt, quantile, verdict } from "./measure.js";
import { drained, type LoadResult, offerLoad, postBatch } from "./offered-load.js";
import { ADMIN_TOKEN, freshDatabase, type Running, startQualify } from "./qualify-processes.js";

/**
 * The live service end to end on PostgreSQL, with real `qualify` processes, each figure beside a
 * raw COPY of the same rows into the same PostgreSQL, measured in the same run:
 *
 * 1. End to end: the highest rate of live-stream events (`/v1/batch`, 100 per request) that one
 *    `qualify start` ingests with processing keeping the lag under 1 s, held for 60 s (the "maximum
 *    sustained load"). Target: at least 25 % of the raw COPY rate.
 * 2. Latency from the ack of a demo request to the lead being an MQL in the API (`GET /api/leads`),
 *    at half the maximum sustained load: p50 and p99. Target: p99 under 1 s.
 * 3. Scaling: end-to-end throughput with 1, 2 and 4 processing processes (one `qualify start`, the
 *    rest `qualify worker`), under more load than one process keeps up with.
 *
 * Needs DATABASE_URL. BENCH_SUSTAIN_SECONDS (60), BENCH_TRIAL_SECONDS (15) and BENCH_START_RATE
 * (1000 events/s) tune the search; BENCH_ONLY=e2e,latency,scaling runs some parts;
 * BENCH_LATENCY_RATE measures the latency at a given load (without the search, under BENCH_ONLY=latency);
 * BENCH_SCALING=4,2,1 runs the scaling part in another order; BENCH_E2E_PROCESSES (1) runs the end-to-end
 * and latency parts with that many processing processes (one `qualify start`, the rest `qualify worker`).
 */

const SUSTAIN_SECONDS = Number(process.env.BENCH_SUSTAIN_SECONDS ?? 60);
const TRIAL_SECONDS = Number(process.env.BENCH_TRIAL_SECONDS ?? 15);
const START_RATE = Number(process.env.BENCH_START_RATE ?? 1_000);
const LATENCY_SECONDS = 30;
/** BENCH_LATENCY_RATE: measure the latency at this load instead of half the maximum found. */
const LATENCY_RATE = Number(process.env.BENCH_LATENCY_RATE ?? 0);
const SCALING_SECONDS = 20;
/** BENCH_SCALING: the processing process counts, in the order run (the database grows as it goes). */
const SCALING = (process.env.BENCH_SCALING ?? "1,2,4").split(",").map(Number);
const MAX_LAG_MS = 1_000;
const TARGET_OF_COPY = 0.25;
/** BENCH_E2E_PROCESSES: processing processes for the end-to-end and latency parts (the ingest is one `start`). */
const E2E_PROCESSES = Number(process.env.BENCH_E2E_PROCESSES ?? 1);
const ONLY = new Set((process.env.BENCH_ONLY ?? "e2e,latency,scaling").split(","));

const out = (line = "") => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether processing kept up: everything acked in time, and the lag stayed under 1 s. */
function keptUp(r: LoadResult, elapsed: number): boolean {
  return (
    r.failed === 0 && r.acked === r.offered && elapsed < r.seconds + 2 && Math.max(...r.lags) < MAX_LAG_MS
  );
}

function describe(r: LoadResult, rate: number): string {
  const lags = [...r.lags].sort((a, b) => a - b);
  return `${fmt(rate).padStart(7)} events/s offered: ${fmt(r.acked / r.seconds).padStart(7)} acked/s, lag p50 ${fmt(quantile(lags, 0.5))} ms, max ${fmt(lags.at(-1) ?? 0)} ms`;
}

/** The rows ingest stores for live-stream calls, for the COPY limit. */
function rowsOf(stream: LiveStream, n: number): NewEvent[] {
  const now = Date.now();
  return stream.batch(n, now).map((call) => {
    const parsed = parseSegmentEvent(call, now);
    if (!parsed.ok) throw new Error(`${parsed.field}: ${parsed.reason}`);
    const e = parsed.event;
    return {
      workspaceId: "default",
      kind: "event",
      type: e.input.type,
      userId: e.userId ?? null,
      anonymousId: e.anonymousId ?? null,
      previousId: e.previousId ?? null,
      leadId: null,
      receivedAt: now,
      input: e.input,
      notify: true,
    };
  });
}

/** Raw COPY of live-stream rows into the events table of a migrated scratch database, rows/s. */
async function copyLimit(base: string, rows: number): Promise<number> {
  const scratch = await freshDatabase(base);
  try {
    const db = openPostgres(scratch.url, 1);
    await migrate(db);
    await db.close();
    return await copyRows(scratch.url, rowsOf(new LiveStream(99, "copy"), rows));
  } finally {
    await scratch.drop();
  }
}

/**
 * Checkpoints PostgreSQL has started, on its schedule (timed) and because the WAL filled (requested),
 * and the WAL position in bytes (all of the cluster's).
 */
async function walState(db: pg.Client): Promise<{ timed: number; wal: number; lsn: number }> {
  const rows = await db.query<{ timed: string; wal: string; lsn: string }>(
    `select checkpoints_timed as timed, checkpoints_req as wal, pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') as lsn
     from pg_stat_bgwriter`,
  );
  const r = rows.rows[0];
  return { timed: Number(r?.timed ?? 0), wal: Number(r?.wal ?? 0), lsn: Number(r?.lsn ?? 0) };
}

/** Offers `rate` for `seconds`; returns whether processing kept up, with its line. */
async function trial(urls: string[], stream: LiveStream, rate: number, seconds: number, db: pg.Client) {
  const started = performance.now();
  const startedAt = new Date().toISOString().slice(11, 19);
  const before = await walState(db);
  const r = await offerLoad(urls, stream, rate, seconds, db);
  const ok = keptUp(r, (performance.now() - started) / 1000);
  await drained(db);
  const after = await walState(db);
  // A checkpoint makes the next change of each page write the whole page to the WAL: a burst.
  const ckpt = `checkpoints ${after.timed - before.timed + after.wal - before.wal} (WAL-full ${after.wal - before.wal})`;
  // WAL per event acked, ingest and processing together (the trial is drained first).
  const wal = `WAL ${((after.lsn - before.lsn) / Math.max(1, r.acked) / 1024).toFixed(1)} KB/event`;
  out(`   ${describe(r, rate)}, ${ckpt}, ${wal}  ${ok ? "kept up" : "fell behind"}`);
  // BENCH_LAG_TRACE=1: the highest lag of each 2 s (8 samples), to see when it rose.
  if (process.env.BENCH_LAG_TRACE)
    out(
      `     lag by 2 s from ${startedAt} UTC: ${Array.from({ length: Math.ceil(r.lags.length / 8) }, (_, i) => fmt(Math.max(...r.lags.slice(i * 8, i * 8 + 8)))).join(" ")}`,
    );
  return ok;
}

/** One demo request from a new person; ms from its ack until the API lists the lead as an MQL. */
async function probe(url: string, i: number): Promise<number> {
  const userId = `probe-${i}`;
  const at = new Date().toISOString();
  const status = await postBatch(url, [
    {
      type: "identify",
      messageId: `probe-${i}-identify`,
      userId,
      timestamp: at,
      traits: { email: `probe${i}@probe.example`, title: "VP Marketing" },
    },
    { type: "track", messageId: `probe-${i}-demo`, userId, timestamp: at, event: "Demo Requested" },
  ]);
  if (status !== 200) throw new Error(`probe ${i}: ${status}`);
  const acked = performance.now();
  for (;;) {
    const res = await fetch(`${url}/api/leads?userId=${userId}&stage=mql`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const body = (await res.json()) as { items: unknown[] };
    if (body.items.length > 0) return performance.now() - acked;
    if (performance.now() - acked > 30_000) throw new Error(`probe ${i}: no MQL within 30 s`);
    await sleep(5);
  }
}

async function processedCount(db: pg.Client): Promise<number> {
  const rows = await db.query<{ n: string }>("select count(*) as n from events where processed");
  return Number(rows.rows[0]?.n ?? 0);
}

/** What each stored row costs on disk (heap, TOAST and indexes), for sizing (docs/scaling.md). */
async function storage(db: pg.Client): Promise<void> {
  out("4. Storage after the run (table with its indexes, per row)");
  for (const table of ["events", "leads", "identities", "transitions", "outbox", "accounts"]) {
    const { rows } = await db.query<{ n: string; bytes: string }>(
      `select count(*) as n, pg_total_relation_size('${table}') as bytes from ${table}`,
    );
    const n = Number(rows[0]?.n ?? 0);
    const bytes = Number(rows[0]?.bytes ?? 0);
    out(
      `   ${table.padEnd(12)} ${fmt(n).padStart(10)} rows  ${fmt(bytes / 2 ** 20).padStart(6)} MB  ${fmt(n > 0 ? bytes / n : 0).padStart(6)} bytes/row`,
    );
  }
}

async function main() {
  const base = process.env.DATABASE_URL;
  if (!base) {
    out("Service benchmarks (end to end, latency, scaling): skipped, they need DATABASE_URL (PostgreSQL).");
    return;
  }
  const copy = await copyLimit(base, 200_000);
  const database = await freshDatabase(base);
  const processes: Running[] = [];
  /** The `qualify worker` processes running beside the `qualify start`. */
  const workers: Running[] = [];
  const db = new pg.Client({ connectionString: database.url });
  try {
    const port = 30_000 + Math.floor(Math.random() * 20_000);
    const url = `http://127.0.0.1:${port}`;
    processes.push(await startQualify("start", { DATABASE_URL: database.url, PORT: String(port) }));
    await db.connect();
    const stream = new LiveStream(1, "live");
    out(`Service benchmarks on PostgreSQL (real qualify processes; the load generator shares the machine)`);
    out(`   raw COPY into events   ${fmt(copy).padStart(9)} rows/s  (the same live-stream rows, one stream)`);
    out();

    /** Starts or stops workers until `n` processes process, then waits for the partitions to be shared out. */
    const processWith = async (n: number) => {
      while (workers.length > n - 1) await workers.pop()?.stop();
      while (workers.length < n - 1)
        workers.push(await startQualify("worker", { DATABASE_URL: database.url }));
      await sleep(3_000);
    };
    if (E2E_PROCESSES > 1) await processWith(E2E_PROCESSES);
    const processing =
      workers.length > 0
        ? `one qualify start and ${workers.length} qualify worker${workers.length > 1 ? "s" : ""}`
        : "one qualify start";
    let best = 0;
    if (ONLY.has("e2e") || (ONLY.has("latency") && LATENCY_RATE === 0)) {
      out(`1. End to end: ${processing}, lag under ${MAX_LAG_MS} ms; trials of ${TRIAL_SECONDS} s`);
      let failed = START_RATE;
      for (; await trial([url], stream, failed, TRIAL_SECONDS, db); failed = Math.round(failed * 1.4))
        best = failed;
      // Two halvings of the gap between the last rate kept up and the first not: within 10 %.
      for (let i = 0; i < 2 && best > 0; i++) {
        const mid = Math.round((best + failed) / 2);
        if (await trial([url], stream, mid, TRIAL_SECONDS, db)) best = mid;
        else failed = mid;
      }
      out(`   held for ${SUSTAIN_SECONDS} s:`);
      while (best > 0 && !(await trial([url], stream, best, SUSTAIN_SECONDS, db)))
        best = Math.round(best * 0.8);
      out(
        `   maximum sustained load ${fmt(best)} events/s = ${ratio(best, copy)} of raw COPY; ` +
          `>= ${TARGET_OF_COPY * 100}%: ${verdict(best >= TARGET_OF_COPY * copy)}`,
      );
      out();
    }

    if (ONLY.has("latency") && (best > 0 || LATENCY_RATE > 0)) {
      const half = LATENCY_RATE > 0 ? LATENCY_RATE : Math.round(best / 2);
      out(
        `2. Latency from ack to MQL in the API, at half the maximum sustained load (${fmt(half)} events/s)`,
      );
      const latencies: number[] = [];
      let probing = true;
      const probes = (async () => {
        for (let i = 0; probing; i++) {
          latencies.push(await probe(url, i));
          await sleep(100);
        }
      })();
      await offerLoad([url], stream, half, LATENCY_SECONDS, db);
      probing = false;
      await probes;
      latencies.sort((a, b) => a - b);
      const p99 = quantile(latencies, 0.99);
      out(
        `   ${latencies.length} demo requests: p50 ${fmt(quantile(latencies, 0.5))} ms, p99 ${fmt(p99)} ms, ` +
          `max ${fmt(latencies.at(-1) ?? 0)} ms; p99 < 1 s: ${verdict(p99 < 1_000)}`,
      );
      out();
      await drained(db);
    }

    if (ONLY.has("scaling")) {
      const rate = Math.max(2 * best, 4 * START_RATE);
      out(`3. Scaling: end-to-end throughput under ${fmt(rate)} events/s offered for ${SCALING_SECONDS} s`);
      for (const n of SCALING) {
        await processWith(n);
        const before = await processedCount(db);
        const started = performance.now();
        const r = await offerLoad([url], stream, rate, SCALING_SECONDS, db);
        const processed = (await processedCount(db)) - before;
        const seconds = (performance.now() - started) / 1000;
        out(
          `   ${n} processing process${n > 1 ? "es" : "  "}: ${fmt(processed / seconds).padStart(7)} events/s processed ` +
            `(${fmt(r.acked / seconds)} acked/s), ${ratio(processed / seconds, copy)} of raw COPY`,
        );
        await drained(db);
      }
      out();
    }
    await storage(db);
  } finally {
    await db.end().catch(() => undefined);
    for (const p of [...workers, ...processes]) await p.stop();
    await database.drop();
  }
}

await main();
