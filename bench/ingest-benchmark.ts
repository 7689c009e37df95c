import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import autocannon from "autocannon";
import Fastify from "fastify";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { startService } from "../src/api/start-service.js";
import { loadConfig } from "../src/config/load-config.js";
import { withDatabase } from "../src/db/database-url.js";
import { fmt, verdict } from "./measure.js";

/**
 * Ingest alone, on PostgreSQL: `/v1/batch` with 100 events per request, against two limits measured
 * in the same run — a bare Fastify route that parses the same body, and a raw COPY of the same rows
 * into the same PostgreSQL. Processing is stopped, so only ingest (auth, parsing, validation,
 * dedupe, the durable append) is measured. Target: at least 50 % of the COPY rate.
 */

const BATCH = 100;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 10;
const TARGET_OF_COPY = 0.5;

/** A batch body whose messageIds autocannon makes unique per request (`[<id>]`). */
function batchBody(writeKey?: string): string {
  const batch = Array.from({ length: BATCH }, (_, k) => ({
    type: "track",
    messageId: `[<id>]-${k}`,
    userId: `bench-user-${k % 37}`,
    event: "Asset Downloaded",
    timestamp: "2026-11-01T10:00:00.000Z",
    properties: { type: "ebook", title: "The lead scoring handbook", path: "/resources/handbook" },
    context: { page: { url: "https://example.com/resources/handbook" }, campaign: { source: "newsletter" } },
  }));
  return JSON.stringify({ batch, ...(writeKey ? { writeKey } : {}) });
}

async function load(url: string, body: string, headers: Record<string, string> = {}) {
  const result = await autocannon({
    url: `${url}/v1/batch`,
    method: "POST",
    connections: CONNECTIONS,
    duration: SECONDS,
    idReplacement: true,
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  const ok = result["2xx"];
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { eventsPerSecond: (ok * BATCH) / SECONDS, requests: ok, p99: result.latency.p99 };
}

async function bareFastify(body: string) {
  const app = Fastify();
  app.post("/v1/batch", async () => ({ success: true }));
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  try {
    return await load(`http://127.0.0.1:${port}`, body);
  } finally {
    await app.close();
  }
}

/** COPY of the rows ingest would write (same columns, same JSON), into a copy of the events table. */
async function rawCopy(url: string, rows: number) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("create table bench_copy (like events including defaults including identity)");
    const input = JSON.stringify({
      kind: "event",
      id: "x",
      at: 1,
      type: "track",
      event: "Asset Downloaded",
      properties: { type: "ebook", title: "The lead scoring handbook", path: "/resources/handbook" },
      context: {
        page: { url: "https://example.com/resources/handbook" },
        campaign: { source: "newsletter" },
      },
    }).replace(/\\/g, "\\\\");
    const lines = function* () {
      for (let i = 0; i < rows; i++)
        yield `default\tcopy-${i}\tevent\ttrack\tbench-user-${i % 37}\t\\N\t\\N\t\\N\t1793354400000\t1793354400000\t${input}\tt\n`;
    };
    const started = performance.now();
    await pipeline(
      Readable.from(lines()),
      client.query(
        copyFrom(
          "copy bench_copy (workspace_id, message_id, kind, type, user_id, anonymous_id, previous_id, lead_id, at, received_at, input, notify) from stdin",
        ),
      ),
    );
    return { rowsPerSecond: rows / ((performance.now() - started) / 1000) };
  } finally {
    await client.query("drop table if exists bench_copy");
    await client.end();
  }
}

async function main() {
  const base = process.env.DATABASE_URL;
  if (!base) {
    process.stdout.write(
      "ingest benchmark: set DATABASE_URL (a PostgreSQL it may create a database on); skipped\n",
    );
    return;
  }
  const name = `qualify_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = withDatabase(base, name);
  try {
    const writeKey = "wk_bench_0123456789abcdef";
    const running = await startService(
      loadConfig({
        DATABASE_URL: url,
        PORT: "0",
        HOST: "127.0.0.1",
        LOG_LEVEL: "warn",
        QUALIFY_WRITE_KEY: writeKey,
      }),
    );
    await running.service.pipeline.stop();
    const auth = { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString("base64")}` };
    let ingest: Awaited<ReturnType<typeof load>>;
    try {
      ingest = await load(running.url as string, batchBody(), auth);
    } finally {
      await running.close();
    }
    const bare = await bareFastify(batchBody());
    const copy = await rawCopy(url, Math.max(200_000, Math.round(ingest.eventsPerSecond * 2)));
    const ofCopy = ingest.eventsPerSecond / copy.rowsPerSecond;
    const out = process.stdout;
    out.write(
      `Qualify ingest benchmark (PostgreSQL), /v1/batch with ${BATCH} events, ${CONNECTIONS} connections, ${SECONDS} s\n`,
    );
    out.write(
      `bare Fastify     ${fmt(bare.eventsPerSecond).padStart(9)} events/s  (p99 ${bare.p99} ms per request)\n`,
    );
    out.write(`raw COPY         ${fmt(copy.rowsPerSecond).padStart(9)} rows/s\n`);
    out.write(
      `Qualify ingest   ${fmt(ingest.eventsPerSecond).padStart(9)} events/s  (p99 ${ingest.p99} ms per request)  ` +
        `${(100 * ofCopy).toFixed(0)}% of COPY, ${((100 * ingest.eventsPerSecond) / bare.eventsPerSecond).toFixed(0)}% of bare Fastify\n`,
    );
    out.write(`ingest alone >= ${TARGET_OF_COPY * 100}% of raw COPY: ${verdict(ofCopy >= TARGET_OF_COPY)}\n`);
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

await main();
