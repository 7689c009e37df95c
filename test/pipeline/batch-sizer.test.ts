import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load-config.js";
import type { QualifyError } from "../../src/errors.js";
import { BatchSizer } from "../../src/pipeline/batch-sizer.js";

/** Batches grow while processing catches up on a backlog, within the configured bounds. */
describe("batch sizing", () => {
  it("takes the configured size until a batch comes back full", () => {
    const s = new BatchSizer(500, 5_000, 250);
    expect(s.next).toBe(500);
    s.record(120, 30);
    expect(s.next).toBe(500);
  });

  it("while behind, sizes the next batch to about the target time, then falls back once caught up", () => {
    const s = new BatchSizer(500, 5_000, 250);
    s.record(500, 50); // 0.1 ms an event: 2,500 fit in 250 ms
    expect(s.next).toBe(2_500);
    s.record(2_500, 1_000); // slower than expected: never under the configured size
    expect(s.next).toBe(625);
    s.record(625, 10); // very fast: capped
    expect(s.next).toBe(5_000);
    s.record(3_000, 300); // not full: the backlog is gone
    expect(s.next).toBe(500);
  });

  it("always stays between the configured size and the maximum", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1, max: 5_000 }),
        fc.array(
          fc.tuple(
            fc.boolean(),
            fc.integer({ min: 0, max: 10_000 }),
            fc.double({ min: 0, max: 1e5, noNaN: true }),
          ),
        ),
        (base, extra, target, batches) => {
          const s = new BatchSizer(base, base + extra, target);
          for (const [full, fewer, ms] of batches) {
            const limit = s.next;
            s.record(full ? limit : Math.max(0, limit - 1 - fewer), ms);
            expect(s.next).toBeGreaterThanOrEqual(base);
            expect(s.next).toBeLessThanOrEqual(base + extra);
            if (!full) expect(s.next).toBe(base);
          }
        },
      ),
    );
  });

  it("refuses a maximum under the configured size, naming the variable", () => {
    expect(loadConfig({})).toMatchObject({
      pipelineBatch: 500,
      pipelineBatchMax: 5_000,
      pipelineBatchTargetMs: 250,
    });
    let error: QualifyError | undefined;
    try {
      loadConfig({ QUALIFY_PIPELINE_BATCH: "800", QUALIFY_PIPELINE_BATCH_MAX: "600" });
    } catch (e) {
      error = e as QualifyError;
    }
    expect(error?.code).toBe("CONFIG_INVALID");
    expect(error?.details).toEqual([
      {
        path: "QUALIFY_PIPELINE_BATCH_MAX",
        message: "must be at least QUALIFY_PIPELINE_BATCH (800), got 600",
      },
    ]);
  });
});
