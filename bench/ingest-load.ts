import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import autocannon from "autocannon";
import Fastify from "fastify";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { NewEvent } from "../src/ingest/append-events.js";
import { parseSegmentEvent } from "../src/ingest/parse-segment-event.js";

/**
 * What the ingest benchmarks share: the request bodies, the load (autocannon), the bare Fastify
 * limit, and the rows ingest stores for those bodies (for the raw COPY limits).
 */

export const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/** Load before each measured run, not counted: the JIT and the database's caches warm up. */
const WARM_UP_SECONDS = Math.min(3, SECONDS);

/** One event as a Segment SDK sends it; `id` is its messageId. */
function event(id: string, k: number): Record<string, unknown> {
  return {
    type: "track",
    messageId: id,
    userId: `bench-user-${k % 37}`,
    event: "Asset Downloaded",
    timestamp: "2026-11-01T10:00:00.000Z",
    properties: { type: "ebook", title: "The lead scoring handbook", path: "/resources/handbook" },
    context: { page: { url: "https://example.com/resources/handbook" }, campaign: { source: "newsletter" } },
  };
}

/** A batch body whose messageIds autocannon makes unique per request (`[<id>]`). */
export function batchBody(events: number): string {
  return JSON.stringify({ batch: Array.from({ length: events }, (_, k) => event(`[<id>]-${k}`, k)) });
}

/** A single track call (`/v1/track`), unique per request. */
export function trackBody(): string {
  const { type: _, ...call } = event("[<id>]", 1);
  return JSON.stringify(call);
}

export interface Load {
  eventsPerSecond: number;
  requests: number;
  /** Milliseconds, per request. */
  p99: number;
}

/**
 * Drives `path` with `body` over `connections` for SECONDS, after a warm-up. The load runs in a
 * worker thread, so that the server's event loop is its own, as it is with real clients.
 */
export async function load(
  url: string,
  path: string,
  body: string,
  opts: { connections: number; eventsPerRequest: number; headers?: Record<string, string> },
): Promise<Load> {
  const run = (duration: number) =>
    autocannon({
      url: `${url}${path}`,
      method: "POST",
      connections: opts.connections,
      duration,
      workers: 1,
      idReplacement: true,
      headers: { "content-type": "application/json", ...opts.headers },
      body,
    });
  await run(WARM_UP_SECONDS);
  const result = await run(SECONDS);
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}${path}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  const ok = result["2xx"];
  return {
    eventsPerSecond: (ok * opts.eventsPerRequest) / SECONDS,
    requests: ok,
    p99: result.latency.p99,
  };
}

/** The limit for HTTP: a Fastify route that parses the same body and answers at once. */
export async function bareFastify(
  path: string,
  body: string,
  opts: { connections: number; eventsPerRequest: number },
): Promise<Load> {
  const app = Fastify({ bodyLimit: 1024 * 1024 });
  app.post(path, async () => ({ success: true }));
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  try {
    return await load(`http://127.0.0.1:${port}`, path, body, opts);
  } finally {
    await app.close();
  }
}

/** The columns ingest writes, in the order `copyText` writes them. */
export const COPY_COLUMNS =
  "workspace_id, message_id, kind, type, user_id, anonymous_id, previous_id, lead_id, at, received_at, input, notify";

/** `n` rows exactly as ingest stores the benchmark's events: parsed by the same code, unique ids. */
export function ingestRows(n: number, receivedAt: number): NewEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const parsed = parseSegmentEvent(event(`copy-${i}`, i % 100), receivedAt);
    if (!parsed.ok) throw new Error(`${parsed.field}: ${parsed.reason}`);
    return {
      workspaceId: "default",
      kind: "event",
      type: parsed.event.input.type,
      userId: parsed.event.userId ?? null,
      anonymousId: parsed.event.anonymousId ?? null,
      previousId: parsed.event.previousId ?? null,
      leadId: null,
      receivedAt,
      input: parsed.event.input,
      notify: true,
    };
  });
}

const copyValue = (v: unknown) =>
  v === null || v === undefined
    ? "\\N"
    : String(v).replace(
        /[\\\t\n\r]/g,
        (c) => ({ "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" })[c] as string,
      );

/** Rows in COPY's text format, `COPY_COLUMNS` in order. */
export function copyText(rows: readonly NewEvent[]): string {
  let out = "";
  for (const r of rows)
    out += `${[
      r.workspaceId,
      r.input.id,
      r.kind,
      r.type,
      r.userId,
      r.anonymousId,
      r.previousId,
      r.leadId,
      r.input.at,
      r.receivedAt,
      JSON.stringify(r.input),
      r.notify ? "t" : "f",
    ]
      .map(copyValue)
      .join("\t")}\n`;
  return out;
}

/**
 * COPY of `rows` (as ingest stores them) into the events table of the database at `url`, emptied
 * first: one stream, one commit. Returns rows per second: the raw limit for ingest.
 */
export async function copyRows(url: string, rows: readonly NewEvent[]): Promise<number> {
  const text = copyText(rows);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("truncate events");
    const chunks = function* () {
      for (let at = 0; at < text.length; at += 1 << 16) yield text.slice(at, at + (1 << 16));
    };
    const started = performance.now();
    await pipeline(
      Readable.from(chunks()),
      client.query(copyFrom(`copy events (${COPY_COLUMNS}) from stdin`)),
    );
    return rows.length / ((performance.now() - started) / 1000);
  } finally {
    await client.end();
  }
}

export const ratio = (value: number, limit: number) => `${((100 * value) / limit).toFixed(0)}%`;
