import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { type RunningService, startService } from "../src/api/start-service.js";
import { loadConfig } from "../src/config/load-config.js";
import { withDatabase } from "../src/db/database-url.js";
import { migrate } from "../src/db/migrate.js";
import { openPglite } from "../src/db/open-pglite.js";
import {
  bareFastify,
  batchBody,
  COPY_COLUMNS,
  copyRows,
  copyText,
  ingestRows,
  type Load,
  load,
  ratio,
  SECONDS,
  trackBody,
} from "./ingest-load.js";
import { fmt, verdict } from "./measure.js";

/**
 * Ingest alone (processing stopped), each figure beside limits measured in the same run:
 *
 * 1. PostgreSQL, `/v1/batch` with 100 events per request: at least 50 % of a raw COPY of the same
 *    rows into the events table (its indexes, its generated partition column); bare Fastify with the
 *    same body beside it.
 * 2. PostgreSQL, single `/v1/track` calls over 50 connections, each acknowledged after its commit:
 *    at least 30 % of a bare Fastify route with the same body over the same connections.
 * 3. PGlite (no DATABASE_URL; durable = commit + the fsync of its WAL), `/v1/batch` with 100 events
 *    per request: at least 15,000 events/s; bare Fastify and a raw COPY into PGlite beside it.
 *
 * Parts 1 and 2 need DATABASE_URL (a PostgreSQL the benchmark may create a database on; it drops
 * it after). BENCH_ONLY=batch,track,pglite runs some of the parts.
 */

const BATCH = 100;
const BATCH_CONNECTIONS = 10;
const TRACK_CONNECTIONS = 50;
const TARGET_OF_COPY = 0.5;
const TARGET_OF_BARE = 0.3;
const TARGET_PGLITE = 15_000;
const COPY_ROWS = 10_000;
const WRITE_KEY = "wk_bench_0123456789abcdef";
const AUTH = { authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString("base64")}` };
const ONLY = new Set((process.env.BENCH_ONLY ?? "batch,track,pglite").split(","));

const out = (line = "") => process.stdout.write(`${line}\n`);
const rate = (n: number, unit: string) => `${fmt(n).padStart(9)} ${unit}`;
const latency = (l: Load) => `(p99 ${l.p99} ms per request)`;

/** The service with processing stopped, so that only ingest is measured. */
async function ingestService(env: Record<string, string>): Promise<RunningService> {
  const running = await startService(
    loadConfig({ PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "warn", QUALIFY_WRITE_KEY: WRITE_KEY, ...env }),
  );
  await running.service.pipeline.stop();
  return running;
}

async function ingest(running: RunningService, path: string, body: string, connections: number, per: number) {
  try {
    return await load(running.url as string, path, body, {
      connections,
      eventsPerRequest: per,
      headers: AUTH,
    });
  } finally {
    // Requests cut off when the load stopped may still be on their way to the writer, or committing.
    await new Promise((r) => setTimeout(r, 300));
    await running.service.writer.flushed();
    await running.close();
  }
}

/** COPY of `rows` rows, as ingest stores them, into the (emptied) events table: one stream, one commit. */
const rawCopy = (url: string, rows: number) => copyRows(url, ingestRows(rows, Date.now()));

/** Qualify's ingest of 100-event batches, then bare Fastify with the same body and connections. */
async function batchLoads(env: Record<string, string>) {
  const body = batchBody(BATCH);
  const qualify = await ingest(await ingestService(env), "/v1/batch", body, BATCH_CONNECTIONS, BATCH);
  const bare = await bareFastify("/v1/batch", body, {
    connections: BATCH_CONNECTIONS,
    eventsPerRequest: BATCH,
  });
  return { qualify, bare };
}

async function onPostgres(base: string) {
  const name = `qualify_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = withDatabase(base, name);
  try {
    if (ONLY.has("batch")) {
      const { qualify, bare } = await batchLoads({ DATABASE_URL: url });
      const copy = await rawCopy(url, Math.max(100_000, Math.round(qualify.eventsPerSecond * SECONDS)));
      const ofCopy = qualify.eventsPerSecond / copy;
      out(
        `1. PostgreSQL, /v1/batch with ${BATCH} events, ${BATCH_CONNECTIONS} connections, ${SECONDS} s, processing stopped`,
      );
      out(
        `   raw COPY into events   ${rate(copy, "rows/s")}    (one stream, one commit; indexes, partition column)`,
      );
      out(`   bare Fastify           ${rate(bare.eventsPerSecond, "events/s")}  ${latency(bare)}`);
      out(
        `   Qualify ingest         ${rate(qualify.eventsPerSecond, "events/s")}  ${latency(qualify)}  ` +
          `${ratio(qualify.eventsPerSecond, copy)} of COPY, ${ratio(qualify.eventsPerSecond, bare.eventsPerSecond)} of bare Fastify`,
      );
      out(`   ingest >= ${TARGET_OF_COPY * 100}% of raw COPY: ${verdict(ofCopy >= TARGET_OF_COPY)}`);
      out();
    }
    if (ONLY.has("track")) {
      const body = trackBody();
      const opts = { connections: TRACK_CONNECTIONS, eventsPerRequest: 1 };
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.query(`create database ${name}`);
      const qualify = await ingest(
        await ingestService({ DATABASE_URL: url }),
        "/v1/track",
        body,
        TRACK_CONNECTIONS,
        1,
      );
      const bare = await bareFastify("/v1/track", body, opts);
      const ofBare = qualify.eventsPerSecond / bare.eventsPerSecond;
      out(
        `2. PostgreSQL, /v1/track (one event per request), ${TRACK_CONNECTIONS} connections, ${SECONDS} s, durable`,
      );
      out(`   bare Fastify           ${rate(bare.eventsPerSecond, "events/s")}  ${latency(bare)}`);
      out(
        `   Qualify ingest         ${rate(qualify.eventsPerSecond, "events/s")}  ${latency(qualify)}  ` +
          `${ratio(qualify.eventsPerSecond, bare.eventsPerSecond)} of bare Fastify`,
      );
      out(`   ingest >= ${TARGET_OF_BARE * 100}% of bare Fastify: ${verdict(ofBare >= TARGET_OF_BARE)}`);
      out();
    }
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

/**
 * COPY of `rows` rows into a fresh PGlite's events table, 10,000 rows a statement (one COPY of
 * everything makes PGlite hold a blob of tens of MB), then its durable sync: the limit on PGlite.
 */
async function pgliteCopy(rows: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "qualify-bench-copy-"));
  try {
    const db = await openPglite({ dataDir: dir });
    try {
      await migrate(db);
      const all = ingestRows(rows, Date.now());
      const blobs: Blob[] = [];
      for (let at = 0; at < all.length; at += COPY_ROWS)
        blobs.push(new Blob([copyText(all.slice(at, at + COPY_ROWS))]));
      const started = performance.now();
      for (const blob of blobs)
        await db.pglite.query(`copy events (${COPY_COLUMNS}) from '/dev/blob'`, [], { blob });
      await db.sync();
      return rows / ((performance.now() - started) / 1000);
    } finally {
      await db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function onPglite() {
  const dir = mkdtempSync(join(tmpdir(), "qualify-bench-"));
  try {
    const { qualify, bare } = await batchLoads({ QUALIFY_DATA_DIR: dir });
    const copy = await pgliteCopy(Math.max(50_000, Math.round(qualify.eventsPerSecond * SECONDS)));
    out(
      `3. PGlite (embedded, commit + WAL fsync), /v1/batch with ${BATCH} events, ${BATCH_CONNECTIONS} connections, ${SECONDS} s, processing stopped`,
    );
    out(
      `   raw COPY into events   ${rate(copy, "rows/s")}    (${fmt(COPY_ROWS)} rows a COPY, then one sync)`,
    );
    out(`   bare Fastify           ${rate(bare.eventsPerSecond, "events/s")}  ${latency(bare)}`);
    out(
      `   Qualify ingest         ${rate(qualify.eventsPerSecond, "events/s")}  ${latency(qualify)}  ` +
        `${ratio(qualify.eventsPerSecond, copy)} of COPY, ${ratio(qualify.eventsPerSecond, bare.eventsPerSecond)} of bare Fastify`,
    );
    out(`   ingest >= ${fmt(TARGET_PGLITE)} events/s: ${verdict(qualify.eventsPerSecond >= TARGET_PGLITE)}`);
    out();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  out("Qualify ingest benchmark: ingest alone, each figure beside limits measured in this run");
  out("(load from autocannon in a worker thread; each load after a warm-up)\n");
  const base = process.env.DATABASE_URL;
  if (ONLY.has("batch") || ONLY.has("track")) {
    if (base) await onPostgres(base);
    else out("1-2. PostgreSQL: set DATABASE_URL (a PostgreSQL it may create a database on); skipped\n");
  }
  if (ONLY.has("pglite")) await onPglite();
}

await main();
