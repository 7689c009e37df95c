import type pg from "pg";
import type { LiveStream } from "./live-stream.js";
import { WRITE_KEY } from "./qualify-processes.js";

/**
 * Open-loop load for the service benchmarks: `/v1/batch` requests of 100 live-stream calls at a
 * fixed rate of events per second, whatever the server's pace (as real traffic arrives), while the
 * processing lag is sampled from the database.
 */

const BATCH = 100;
const TICK_MS = 10;
const AUTH = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString("base64")}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LoadResult {
  offered: number;
  acked: number;
  failed: number;
  seconds: number;
  /** Lag samples (ms): now minus the receive time of the oldest event still pending. */
  lags: number[];
}

export async function postBatch(url: string, calls: unknown[]): Promise<number> {
  const res = await fetch(`${url}/v1/batch`, {
    method: "POST",
    headers: { authorization: AUTH, "content-type": "application/json" },
    body: JSON.stringify({ batch: calls }),
  });
  await res.arrayBuffer();
  return res.status;
}

/**
 * How far processing is behind ingest now, in ms (0 when nothing is pending): the age of the oldest
 * pending event, read through the pending index (`min(received_at)` over the pending rows made
 * PostgreSQL scan the whole log, in parallel, four times a second, and the probe took the cores
 * it was measuring).
 */
export async function lagNow(db: pg.Client): Promise<number> {
  const rows = await db.query<{ lag: string | null }>(
    `select (extract(epoch from clock_timestamp()) * 1000)::bigint - received_at as lag from events
     where workspace_id = 'default' and not processed order by seq limit 1`,
  );
  return Math.max(0, Number(rows.rows[0]?.lag ?? 0));
}

/** Offers `rate` events/s to the API processes (round robin) for `seconds`, sampling the lag. */
export async function offerLoad(
  urls: readonly string[],
  stream: LiveStream,
  rate: number,
  seconds: number,
  db: pg.Client,
): Promise<LoadResult> {
  const result: LoadResult = { offered: 0, acked: 0, failed: 0, seconds, lags: [] };
  const started = performance.now();
  const end = started + seconds * 1000;
  const inFlight = new Set<Promise<void>>();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      result.lags.push(await lagNow(db));
      await sleep(250);
    }
  })();
  let n = 0;
  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - started) / 1000) * (rate / BATCH));
    for (; n < due; n++) {
      const calls = stream.batch(BATCH, Date.now());
      result.offered += BATCH;
      const p = postBatch(urls[n % urls.length] as string, calls)
        .then((status) => {
          if (status === 200) result.acked += BATCH;
          else result.failed += BATCH;
        })
        .catch(() => {
          result.failed += BATCH;
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await sleep(TICK_MS);
  }
  await Promise.all(inFlight);
  sampling = false;
  await sampler;
  return result;
}

/** Waits until nothing is pending. */
export async function drained(db: pg.Client, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await lagNow(db)) > 0) {
    if (Date.now() > deadline) throw new Error("processing did not catch up");
    await sleep(250);
  }
}
