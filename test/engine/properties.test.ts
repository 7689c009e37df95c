import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CompiledModel,
  compareInputs,
  compileModel,
  contributionsOf,
  evaluate,
  type Input,
  loadModel,
  parseModel,
  replayInIngestOrder,
  summarize,
} from "../../src/engine/index.js";
import { roundHalfEven } from "../../src/engine/points.js";
import { DAY, history, modelYaml } from "../support/arbitraries.js";
import { processLive } from "../support/live.js";

/** The engine's invariants, each over at least 1,000 generated models and histories. */

const RUNS = { numRuns: 1000 };
const models = new Map<string, CompiledModel>();
const compiled = (yaml: string) => {
  let m = models.get(yaml);
  if (!m) {
    m = parseModel(yaml);
    models.set(yaml, m);
  }
  return m;
};

const lastAt = (inputs: Input[]) => Math.max(...inputs.map((i) => i.at));
const withoutIds = (cs: { eventId?: string }[]) => cs.map(({ eventId: _, ...rest }) => rest);
const cents = (n: number) => Math.round(n * 100);

/** Splits a list into consecutive batches at the given cut points. */
function batches<T>(list: T[], cuts: number[]): T[][] {
  const points = [...new Set(cuts.map((c) => c % (list.length + 1)))].sort((a, b) => a - b);
  const out: T[][] = [];
  let start = 0;
  for (const p of [...points, list.length]) {
    if (p > start) out.push(list.slice(start, p));
    start = Math.max(start, p);
  }
  return out;
}

describe("engine invariants (fast-check)", () => {
  it("any order of the same inputs gives the same scores, contributions and transitions", () => {
    fc.assert(
      fc.property(modelYaml, history, fc.func(fc.integer()), (yaml, inputs, key) => {
        const m = compiled(yaml);
        const t = lastAt(inputs) + DAY;
        const shuffled = [...inputs].sort((a, b) => key(a.id) - key(b.id));
        expect(evaluate(m, shuffled, t)).toEqual(evaluate(m, inputs, t));
      }),
      RUNS,
    );
  });

  it("a duplicate messageId counts once", () => {
    fc.assert(
      fc.property(
        modelYaml,
        history,
        fc.array(fc.nat(), { minLength: 1, maxLength: 10 }),
        (yaml, inputs, picks) => {
          const m = compiled(yaml);
          const t = lastAt(inputs);
          const dups = picks.map((p) => ({ ...(inputs[p % inputs.length] as Input) }));
          expect(evaluate(m, [...inputs, ...dups], t)).toEqual(evaluate(m, inputs, t));
          // Live: a duplicate delivered again in a later batch changes nothing either.
          const sorted = [...inputs].sort(compareInputs);
          const once = processLive(m, [sorted]);
          const twice = processLive(m, [sorted, dups]);
          expect(summarize(m, twice.state, t).scores).toEqual(summarize(m, once.state, t).scores);
          expect(twice.transitions).toEqual(once.transitions);
        },
      ),
      RUNS,
    );
  });

  it("stepping through batches in time order equals a full recompute", () => {
    fc.assert(
      fc.property(
        modelYaml,
        history,
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.nat({ max: 30 * DAY }),
        (yaml, inputs, cuts, later) => {
          const m = compiled(yaml);
          const sorted = [...inputs].sort(compareInputs);
          const run = processLive(m, batches(sorted, cuts));
          const t = run.state.asOf + later;
          const full = evaluate(m, inputs, t);
          const s = summarize(m, run.state, t);
          expect(s.scores).toEqual(full.scores);
          expect(s.grade).toBe(full.grade);
          expect(s.stage).toBe(full.stage);
          expect(s.mqlAt).toBe(full.mqlAt);
          expect(contributionsOf(m, run.state, t)).toEqual(withoutIds(full.contributions));
          expect(run.transitions).toEqual(full.transitions);
        },
      ),
      RUNS,
    );
  });

  it("late inputs: scores equal a recompute, and transitions are only ever appended, in time order", () => {
    fc.assert(
      fc.property(modelYaml, history, fc.array(fc.nat(), { maxLength: 8 }), (yaml, ingestOrder, cuts) => {
        const m = compiled(yaml);
        const run = processLive(m, batches(ingestOrder, cuts));
        const t = run.state.asOf;
        const full = evaluate(m, ingestOrder, t);
        expect(summarize(m, run.state, t).scores).toEqual(full.scores);
        expect(contributionsOf(m, run.state, t)).toEqual(withoutIds(full.contributions));
        // Never re-timed, never out of order: each is stamped max(trigger time, previous transition),
        // where the trigger time is the event time of the input that caused it.
        const byId = new Map(ingestOrder.map((i) => [i.id, i]));
        let prev = Number.NEGATIVE_INFINITY;
        for (const tr of run.transitions) {
          expect(tr.triggerAt).toBe(byId.get(tr.inputId)?.at);
          expect(tr.at).toBe(Math.max(tr.triggerAt, prev));
          prev = tr.at;
        }
        // Each transition leaves from the stage the previous one entered.
        run.transitions.forEach((tr, i) => {
          expect(tr.from).toBe(i === 0 ? "visitor" : run.transitions[i - 1]?.to);
        });
        expect(run.state.l.stage).toBe(run.transitions.at(-1)?.to ?? "visitor");
      }),
      RUNS,
    );
  });

  it("one input at a time, the ingest-order replay is what live processing does", () => {
    fc.assert(
      fc.property(modelYaml, history, (yaml, ingestOrder) => {
        const m = compiled(yaml);
        const run = processLive(
          m,
          ingestOrder.map((i) => [i]),
        );
        const replayed = replayInIngestOrder(m, ingestOrder, run.state.asOf);
        expect(replayed.transitions).toEqual(run.transitions);
        expect(replayed.state).toEqual(run.state);
        // In time order, the ingest-order replay is the full recompute.
        const sorted = [...ingestOrder].sort(compareInputs);
        const t = lastAt(sorted);
        expect(replayInIngestOrder(m, sorted, t).transitions).toEqual(evaluate(m, sorted, t).transitions);
      }),
      RUNS,
    );
  });

  it("skipping MQL checks that cannot succeed changes nothing", () => {
    fc.assert(
      fc.property(modelYaml, history, fc.array(fc.nat(), { maxLength: 8 }), (yaml, ingestOrder, cuts) => {
        const fast = compiled(yaml);
        const slow = compileModel(loadModel(yaml), { shortcuts: false });
        const a = processLive(fast, batches(ingestOrder, cuts));
        const b = processLive(slow, batches(ingestOrder, cuts));
        expect(a.transitions).toEqual(b.transitions);
        expect(a.state).toEqual(b.state);
      }),
      RUNS,
    );
  });

  it("contributions always add up exactly to each score", () => {
    fc.assert(
      fc.property(modelYaml, history, fc.nat({ max: 60 * DAY }), (yaml, inputs, later) => {
        const m = compiled(yaml);
        const e = evaluate(m, inputs, lastAt(inputs) + later);
        for (const [group, score] of Object.entries(e.scores)) {
          const sum = e.contributions
            .filter((c) => c.group === group)
            .reduce((a, c) => a + cents(c.points), 0);
          expect(sum).toBe(cents(score));
        }
        for (const c of e.contributions) {
          expect(c.points).not.toBe(0);
          if (c.kind !== "cap") expect(cents(c.points)).toBe(roundHalfEven(cents(c.raw) * c.factor));
        }
      }),
      RUNS,
    );
  });

  it("evaluating as of t ignores everything after t", () => {
    fc.assert(
      fc.property(modelYaml, history, history, fc.nat({ max: 15 * DAY }), (yaml, past, future, gap) => {
        const m = compiled(yaml);
        const t = lastAt(past);
        const after = future.map((i) => ({
          ...i,
          id: `future-${i.id}`,
          at: t + 1 + gap + (i.at - Math.min(...future.map((f) => f.at))),
        }));
        expect(evaluate(m, [...past, ...after], t)).toEqual(evaluate(m, past, t));
      }),
      RUNS,
    );
  });
});
