import { describe, expect, it } from "vitest";
import { type Call, type prng, sendBatch, sendOne, storedModel } from "../support/live-checks.js";
import { checkLeads, DAY, type Planned, T0, workload } from "../support/live-workload.js";
import { expectRollupAsRebuilt, rollupOnce } from "../support/rollup-checks.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService, type TestService } from "../support/test-service.js";

/**
 * The live service under a random, concurrent load over real HTTP: identify, track, page, group and
 * alias calls at random times over three weeks, sent in waves of parallel requests, with resent
 * messageIds, late events, anonymous histories identified later, shared browsers and merges. After
 * the pipeline drains, every lead must hold what the pure engine computes from its stored inputs,
 * and the analytics rollups, taken in by small steps along the way, what a rebuild makes of them.
 *
 * The seed is random; a failure names it, and QUALIFY_TEST_SEED=<seed> runs that workload again.
 */

const WAVE = 2 * DAY;
const RUNS = Number(process.env.QUALIFY_TEST_RUNS ?? 3);

/** Sends the workload in waves of parallel requests, moving the service's clock along. */
async function sendWorkload(
  service: TestService,
  clock: { now: number },
  planned: Planned[],
  r: ReturnType<typeof prng>,
): Promise<Set<string>> {
  const acknowledged = new Set<string>();
  const waves = new Map<number, Call[]>();
  for (const p of planned) {
    const w = Math.max(0, Math.floor((p.sendAt - T0) / WAVE));
    waves.set(w, [...(waves.get(w) ?? []), p.call]);
  }
  for (const w of [...waves.keys()].sort((a, b) => a - b)) {
    clock.now = Math.max(clock.now, T0 + (w + 1) * WAVE);
    const calls = r.shuffle(waves.get(w) ?? []);
    const requests: Promise<void>[] = [];
    for (let i = 0; i < calls.length; ) {
      const size = r.int(1, 12);
      const chunk = calls.slice(i, i + size);
      i += size;
      const done = () => {
        for (const c of chunk) acknowledged.add(c.messageId);
      };
      if (chunk.length === 1 && r.chance(0.6)) requests.push(sendOne(service, chunk[0] as Call).then(done));
      else requests.push(sendBatch(service, chunk).then(done));
    }
    await Promise.all(requests);
    if (r.chance(0.25)) await service.drain();
    // The analytics rollup takes in what is processed so far, in small steps.
    if (r.chance(0.5)) await rollupOnce(service.service.db, r.int(1, 60));
  }
  return acknowledged;
}

describe.each(DATABASE_KINDS)("randomized live load on %s", (kind) => {
  for (let run = 0; run < RUNS; run++) {
    const seed = Number(process.env.QUALIFY_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31)) + run;
    it(`keeps every lead equal to the engine (seed ${seed})`, { timeout: 90_000 }, async () => {
      const { planned, r } = workload(seed);
      const batchSize = r.pick(["3", "20", "500"]);
      const clock = { now: T0 };
      const service = await startTestService(kind, {
        clock: () => clock.now,
        env: { QUALIFY_PIPELINE_BATCH: batchSize },
      });
      try {
        const m = await storedModel(service.service.db);
        expect(m.key).toBe("default-b2b@v1");
        const acknowledged = await sendWorkload(service, clock, planned, r);
        await service.drain();
        const label = `seed ${seed}, batch ${batchSize}`;
        const stats = await checkLeads(
          service.service.db,
          m,
          acknowledged,
          label,
          service.service.pipeline.stats,
        );
        expect(stats.leads).toBeGreaterThan(20);
        expect(stats.merged).toBeGreaterThan(0);
        expect(stats.transitions).toBeGreaterThan(0);
        const rollups = await expectRollupAsRebuilt(service.service.db, label);
        expect(rollups.touchpoints?.length).toBeGreaterThan(0);

        // A decay sweep later on: stored scores move to the new time and still equal a recompute.
        clock.now += 20 * DAY;
        await service.service.pipeline.sweep(clock.now);
        const rows = await service.service.db.query<{ n: number }>(
          "select count(*)::int as n from leads where merged_into is null and scores_as_of <> $1",
          [clock.now],
        );
        expect(rows[0]?.n).toBe(0);
        await checkLeads(
          service.service.db,
          m,
          acknowledged,
          `${label}, after the sweep`,
          service.service.pipeline.stats,
        );
      } finally {
        await service.close();
      }
    });
  }
});
