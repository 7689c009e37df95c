import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Database } from "../src/db/database.js";
import { openPglite } from "../src/db/open-pglite.js";
import { openPostgres } from "../src/db/open-postgres.js";
import { fmt, quantile, verdict } from "./measure.js";
import { postBatch } from "./offered-load.js";
import { ADMIN_TOKEN, freshDatabase, type Running, startQualify } from "./qualify-processes.js";

/**
 * Webhooks under a burst: a real `qualify start` qualifies BENCH_LEADS (10,000) leads sent at once
 * (an identify and a demo request each, `/v1/batch` of 500 events, 4 requests at a time), with two
 * subscriptions to `lead.mql` (one JSON, one Slack) and a receiver that answers each request after
 * 5 ms. Reports the time until every notification is delivered, and MQL → delivery latency:
 *
 * - from the MQL's commit (the start of the processing transaction that stored it: the outbox
 *   row's `created_at`) to the receiver taking in the request; target p99 < 2 s;
 * - from the demo request's receipt by the API (the payload's `time`) to the same.
 *
 * On PGlite always; on PostgreSQL too when DATABASE_URL is set (a database of its own, dropped
 * after). BENCH_ONLY=pglite,postgres picks; the server keeps its default settings.
 */

const LEADS = Number(process.env.BENCH_LEADS ?? 10_000);
const RECEIVER_MS = 5;
const TARGET_P99_MS = 2_000;
const BATCH_EVENTS = 500;
const SENDERS = 4;
const DEADLINE_MS = 15 * 60_000;
const ONLY = new Set((process.env.BENCH_ONLY ?? "pglite,postgres").split(","));

const out = (line = "") => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Arrival {
  at: number;
  /** The payload's time (JSON subscription only). */
  time: number | null;
}

/** The receiver: answers 200 after 5 ms, keeps the first arrival of each (path, id). */
async function startReceiver() {
  const first = new Map<string, Arrival>();
  let requests = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const at = Date.now();
      requests++;
      const key = `${req.url}|${String(req.headers["qualify-id"])}`;
      if (!first.has(key)) {
        let time: number | null = null;
        if (req.url === "/json")
          time = Date.parse((JSON.parse(Buffer.concat(chunks).toString()) as { time: string }).time);
        first.set(key, { at, time });
      }
      setTimeout(() => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("ok");
      }, RECEIVER_MS);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    first,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function api(base: string, method: string, path: string, body: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as unknown;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function burst(): unknown[][] {
  const events: unknown[] = [];
  for (let i = 0; i < LEADS; i++) {
    const userId = `bench-${i}`;
    events.push(
      {
        type: "identify",
        messageId: `${userId}-identify`,
        userId,
        traits: { email: `${userId}@bigco.example`, name: `Lead ${i}`, title: "VP Marketing" },
      },
      { type: "track", messageId: `${userId}-demo`, userId, event: "Demo Requested" },
    );
  }
  const batches: unknown[][] = [];
  for (let i = 0; i < events.length; i += BATCH_EVENTS) batches.push(events.slice(i, i + BATCH_EVENTS));
  return batches;
}

const stat = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: s.at(-1) ?? Number.NaN };
};
const msText = (n: number) => `${fmt(n)} ms`;

async function run(kind: "pglite" | "postgres", base: string | undefined): Promise<void> {
  out(
    `\n## ${kind === "pglite" ? "PGlite" : "PostgreSQL"}: ${fmt(LEADS)} MQLs, 2 subscriptions, receiver ${RECEIVER_MS} ms`,
  );
  const dataDir = mkdtempSync(join(tmpdir(), "qualify-webhook-bench-"));
  const pgdb = kind === "postgres" ? await freshDatabase(base as string) : null;
  const receiver = await startReceiver();
  const port = await freePort();
  const serverUrl = `http://127.0.0.1:${port}`;
  let server: Running | null = null;
  try {
    server = await startQualify("start", {
      PORT: String(port),
      QUALIFY_DATA_DIR: dataDir,
      ...(pgdb ? { DATABASE_URL: pgdb.url } : {}),
      ...(process.env.QUALIFY_WEBHOOK_CONCURRENCY
        ? { QUALIFY_WEBHOOK_CONCURRENCY: process.env.QUALIFY_WEBHOOK_CONCURRENCY }
        : {}),
    });
    await api(serverUrl, "POST", "/api/webhooks", { url: receiver.url("/json"), events: ["lead.mql"] });
    await api(serverUrl, "POST", "/api/webhooks", {
      url: receiver.url("/slack"),
      events: ["lead.mql"],
      format: "slack",
    });
    const batches = burst();
    const expected = 2 * LEADS;
    const t0 = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: SENDERS }, async () => {
        while (next < batches.length) {
          const b = batches[next++] as unknown[];
          const status = await postBatch(serverUrl, b);
          if (status !== 200) throw new Error(`/v1/batch answered ${status}`);
        }
      }),
    );
    const ingested = Date.now() - t0;
    while (receiver.first.size < expected && Date.now() - t0 < DEADLINE_MS) await sleep(20);
    const allDelivered = Date.now() - t0;
    const complete = receiver.first.size >= expected;
    await sleep(500);
    await server.stop();
    server = null;

    // When each MQL was committed: its outbox row's created_at (the processing transaction's start).
    const db: Database = pgdb ? openPostgres(pgdb.url, 1) : await openPglite({ dataDir });
    const rows = await db.query<{ event_id: string; at: number; fanned: number }>(
      `select d.event_id, min((extract(epoch from o.created_at) * 1000)::bigint) as at, min(d.created_at) as fanned
       from webhook_deliveries d join outbox o on o.workspace_id = d.workspace_id and o.seq = d.outbox_seq
       group by d.event_id`,
    );
    const attempts = await db.query<{ n: number; a: number }>(
      "select count(*)::int as n, coalesce(sum(attempts), 0)::int as a from webhook_deliveries",
    );
    await db.close();
    const committed = new Map(rows.map((r) => [r.event_id, Number(r.at)]));
    const fanOutLag = stat(rows.map((r) => Number(r.fanned) - Number(r.at)));
    const fromCommit: number[] = [];
    const fromEvent: number[] = [];
    const timeById = new Map<string, number>();
    for (const [key, a] of receiver.first)
      if (a.time !== null) timeById.set(key.split("|")[1] as string, a.time);
    for (const [key, a] of receiver.first) {
      const id = key.split("|")[1] as string;
      const c = committed.get(id);
      if (c !== undefined) fromCommit.push(a.at - c);
      const t = timeById.get(id);
      if (t !== undefined) fromEvent.push(a.at - t);
    }
    const lastMql = Math.max(...committed.values()) - t0;
    const c = stat(fromCommit);
    const e = stat(fromEvent);
    out(`burst sent (${fmt(2 * LEADS)} events acknowledged):      ${msText(ingested)}`);
    out(`last MQL committed:                          ${msText(lastMql)} after the burst began`);
    out(
      `all ${fmt(expected)} notifications delivered:       ${complete ? msText(allDelivered) : `NOT within ${msText(DEADLINE_MS)} (${fmt(receiver.first.size)})`} after the burst began (${fmt((expected / allDelivered) * 1000)}/s); ${fmt(receiver.requests())} requests, ${fmt(attempts[0]?.a ?? 0)} attempts for ${fmt(attempts[0]?.n ?? 0)} deliveries`,
    );
    out(
      `MQL committed → delivered:   p50 ${msText(c.p50)}, p99 ${msText(c.p99)}, max ${msText(c.max)}   target p99 < ${msText(TARGET_P99_MS)}: ${verdict(complete && c.p99 < TARGET_P99_MS)}`,
    );
    out(`event received → delivered:  p50 ${msText(e.p50)}, p99 ${msText(e.p99)}, max ${msText(e.max)}`);
    out(
      `  of which MQL committed → fanned out: p50 ${msText(fanOutLag.p50)}, p99 ${msText(fanOutLag.p99)}, max ${msText(fanOutLag.max)}`,
    );
  } finally {
    await server?.stop();
    await receiver.close();
    await pgdb?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

out("# Webhook benchmark");
if (ONLY.has("pglite")) await run("pglite", undefined);
const base = process.env.DATABASE_URL;
if (ONLY.has("postgres")) {
  if (base) await run("postgres", base);
  else out("\nPostgreSQL: set DATABASE_URL (a PostgreSQL it may create a database on); skipped");
}
