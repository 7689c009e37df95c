import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.js";
import { cancelJob } from "../../src/scheduler/schedule-job.js";
import { type Run, recorder, schedule, testScheduler, WS } from "../support/scheduler-fixtures.js";
import { DATABASE_KINDS, openTestDatabase } from "../support/test-database.js";

/**
 * Any sequence of scheduling (with or without a key, due in the past or the future), cancelling
 * and clock advances, each advance followed by `runDue`: the runs are exactly those of a model in
 * which a key names one job, every job runs once, at or after its due time, in due order (ties in
 * creation order), with the payload it was last scheduled with.
 */

type Command =
  | { op: "schedule"; key: string | null; delay: number }
  | { op: "cancel"; key: string }
  | { op: "advance"; ms: number };

const KEYS = ["a", "b", "c"];
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("schedule" as const),
      key: fc.option(fc.constantFrom(...KEYS), { nil: null }),
      delay: fc.integer({ min: -2_000, max: 5_000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("cancel" as const), key: fc.constantFrom(...KEYS) }) },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 3_000 }) }),
  },
);

interface ModelJob {
  id: number;
  key: string | null;
  runAt: number;
  payload: number;
  state: "scheduled" | "done" | "cancelled";
}

const START = 1_700_000_000_000;

describe.each(DATABASE_KINDS)("scheduler properties on %s", (kind) => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase(kind);
  });
  afterAll(async () => {
    await db.close();
  });

  it("every job runs once, at or after its due time, in due order, with its last payload", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(command, { maxLength: 30 }),
        fc.integer({ min: 1, max: 4 }),
        async (commands, batchSize) => {
          await db.exec("delete from jobs");
          let now = START;
          const s = testScheduler(db, () => now, { batchSize });
          const r = recorder();
          s.register("k", r.handler);
          const model = new Map<number, ModelJob>();
          const expected: Run[] = [];
          const dueAt: number[] = [];
          let payload = 0;
          const runModel = () => {
            const due = [...model.values()]
              .filter((j) => j.state === "scheduled" && j.runAt <= now)
              .sort((a, b) => a.runAt - b.runAt || a.id - b.id);
            for (const j of due) {
              j.state = "done";
              expected.push({ id: j.id, key: j.key, payload: j.payload, attempts: 1, now });
              dueAt.push(j.runAt);
            }
          };
          for (const c of [...commands, { op: "advance" as const, ms: 10_000 }]) {
            if (c.op === "schedule") {
              payload++;
              const runAt = now + c.delay;
              const id = await schedule(db, { kind: "k", key: c.key, runAt, payload });
              const existing = c.key === null ? undefined : [...model.values()].find((j) => j.key === c.key);
              if (existing) expect(id).toBe(existing.id);
              model.set(id, { id, key: c.key, runAt, payload, state: "scheduled" });
            } else if (c.op === "cancel") {
              const cancelled = await db.transaction((tx) => cancelJob(tx, WS, "k", c.key));
              const j = [...model.values()].find((m) => m.key === c.key && m.state === "scheduled");
              expect(cancelled).toBe(j !== undefined);
              if (j) j.state = "cancelled";
            } else {
              now += c.ms;
              await s.runDue();
              runModel();
            }
          }
          expect(r.runs).toEqual(expected);
          r.runs.forEach((run, i) => {
            expect(run.now).toBeGreaterThanOrEqual(dueAt[i] as number);
          });
          const states = await db.query<{ id: number; state: string }>(
            "select id, state from jobs order by id",
          );
          expect(states).toEqual(
            [...model.values()].sort((a, b) => a.id - b.id).map((j) => ({ id: j.id, state: j.state })),
          );
        },
      ),
      { numRuns: 40 },
    );
  });
});
