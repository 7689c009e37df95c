import { connect, RetentionPolicy, StorageType } from "nats";
import { LiveStream } from "./live-stream.js";
import { fmt } from "./measure.js";

/**
 * Would an ingest buffer help? NATS JetStream as the candidate: the rate at which it durably
 * accepts the same `/v1/batch` bodies (100 live-stream events each, file storage, each publish
 * acknowledged), with as many publishes in flight as the ingest benchmark has connections. Compare
 * it with the ingest and end-to-end figures of the other benchmarks (docs/scaling.md does).
 * Skipped when no NATS server answers at NATS_URL (default 127.0.0.1:4222).
 */

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const IN_FLIGHT = 10;
const BATCH = 100;
const STREAM = "QUALIFY_BENCH";

const out = (line = "") => process.stdout.write(`${line}\n`);

async function main() {
  const servers = process.env.NATS_URL ?? "127.0.0.1:4222";
  const nc = await connect({ servers, timeout: 2_000 }).catch(() => null);
  if (!nc) {
    out(`JetStream buffer: skipped, no NATS server at ${servers}.`);
    return;
  }
  try {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(STREAM).catch(() => undefined);
    await jsm.streams.add({
      name: STREAM,
      subjects: [`${STREAM}.>`],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
    });
    const js = nc.jetstream();
    const stream = new LiveStream(5, "nats");
    const bodies = Array.from({ length: 200 }, () =>
      new TextEncoder().encode(JSON.stringify({ batch: stream.batch(BATCH, Date.now()) })),
    );
    let sent = 0;
    const end = performance.now() + SECONDS * 1000;
    const publisher = async () => {
      while (performance.now() < end) {
        await js.publish(`${STREAM}.events`, bodies[sent % bodies.length] as Uint8Array);
        sent++;
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: IN_FLIGHT }, publisher));
    const seconds = (performance.now() - started) / 1000;
    const bytes = bodies.reduce((n, b) => n + b.length, 0) / bodies.length;
    out(`JetStream as an ingest buffer (file storage, acknowledged publishes, ${IN_FLIGHT} in flight)`);
    out(
      `   ${fmt((sent * BATCH) / seconds).padStart(9)} events/s  (${fmt(sent / seconds)} batches/s of ${BATCH} events, ${fmt(bytes)} bytes each)`,
    );
    await jsm.streams.delete(STREAM);
  } finally {
    await nc.close();
  }
}

await main();
