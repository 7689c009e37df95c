import { describe, expect, it } from "vitest";
import {
  evaluate,
  type Input,
  parseModel,
  replay,
  step,
  type Transition,
} from "../../../src/engine/index.js";
import { processLive } from "../../support/live.js";
import { identify, T, track, yaml } from "./helpers.js";

/**
 * Spec: "A hand-raiser from someone who is not yet a lead waits, and qualifies the lead the moment
 * it becomes one." Found end to end with the Segment SDK sending batches concurrently: the demo
 * request (10:05) arrived before the identify that gives the email, whose event time (10:00) is
 * earlier. The late identify is checked at 10:00, before the hand-raise happened, so it could not
 * use it, and nothing else arrived: the lead stayed `subscriber` (or `lead`) and the demo request
 * was lost. Once a batch is in, a waiting hand-raise is now checked against the current traits.
 */
const m = parseModel(
  yaml(`
qualification:
  mql: { score: engagement, gte: 50 }
  handRaisers: [{ id: demo, match: Demo Requested }]
  disqualifiers:
    - { id: student, mode: block, when: { trait: title, contains: student } }
`),
);

const demo = track("d1", "2026-09-01T10:05:00Z", "Demo Requested");
const rows = (ts: readonly Transition[]) =>
  ts.map((t) => ({ move: `${t.from} → ${t.to}`, at: t.at, triggerAt: t.triggerAt, inputId: t.inputId }));

describe("a hand-raise that arrives before the late identify that makes the lead", () => {
  it("qualifies the lead as of the hand-raise, as a recompute in time order does", () => {
    const late = identify("i1", "2026-09-01T10:00:00Z", { email: "ana@acme.com" });
    const { state, emitted, transitions } = processLive(m, [[demo], [late]]);
    expect(emitted[0]).toEqual([]);
    expect(rows(transitions)).toEqual([
      { move: "visitor → subscriber", at: T("2026-09-01T10:00:00Z"), triggerAt: late.at, inputId: "i1" },
      { move: "subscriber → lead", at: demo.at, triggerAt: demo.at, inputId: "d1" },
      { move: "lead → mql", at: demo.at, triggerAt: demo.at, inputId: "d1" },
    ]);
    expect(transitions.at(-1)).toMatchObject({
      rules: ["demo"],
      reason: "hand-raiser demo",
      actor: "system",
    });
    expect(state.l).toMatchObject({ stage: "mql", mqlAt: demo.at, hr: null, hrAt: null, hrId: null });
    expect(transitions).toEqual(evaluate(m, [demo, late], state.asOf).transitions);
  });

  it("qualifies a person the late batch made a lead, not before the hand-raise", () => {
    const late = [
      identify("i1", "2026-09-01T10:00:00Z", { email: "ana@acme.com" }),
      track("f1", "2026-09-01T09:59:00Z", "Form Submitted"),
    ];
    const { state, transitions } = processLive(m, [[demo], late]);
    expect(rows(transitions).map((r) => [r.move, r.at, r.inputId])).toEqual([
      ["visitor → lead", T("2026-09-01T10:00:00Z"), "i1"],
      ["lead → mql", demo.at, "d1"],
    ]);
    expect(state.l.stage).toBe("mql");
  });

  it("still waits while a block holds with the current traits, and fires when it lifts", () => {
    const late = identify("i1", "2026-09-01T10:00:00Z", { email: "li@uni.example", title: "PhD Student" });
    const lifted = identify("i2", "2026-10-01T10:00:00Z", { title: "Data Engineer" });
    const { state, emitted } = processLive(m, [[demo], [late], [lifted]]);
    expect(emitted.map((ts) => ts.map((t) => `${t.from} → ${t.to}`))).toEqual([
      [],
      ["visitor → subscriber", "subscriber → lead"],
      ["lead → mql"],
    ]);
    expect(emitted[2]?.[0]).toMatchObject({ at: lifted.at, inputId: "i2", rules: ["demo"] });
    expect(state.l.stage).toBe("mql");
  });

  it("does not fire when a block holds now, though it did not at the hand-raise", () => {
    const student = identify("i2", "2026-09-01T10:10:00Z", { title: "PhD Student" });
    const late = identify("i1", "2026-09-01T10:00:00Z", { email: "li@uni.example" });
    const { state, transitions } = processLive(m, [[demo, student], [late]]);
    expect(transitions.map((t) => `${t.from} → ${t.to}`)).toEqual([
      "visitor → subscriber",
      "subscriber → lead",
    ]);
    expect(state.l).toMatchObject({ stage: "lead", hr: "demo", hrAt: demo.at, hrId: "d1" });
  });

  it("settles a state stored before hrId existed, naming the hand-raiser", () => {
    const r = step(m, processLive(m, []).state, [demo], demo.at);
    if (r.needsReplayFrom !== undefined) throw new Error("in order");
    const stored = structuredClone(r.state);
    delete (stored.l as { hrId?: string | null }).hrId;
    const late: Input = identify("i1", "2026-09-01T10:00:00Z", { email: "ana@acme.com" });
    const done = replay(m, stored, [demo], [late], demo.at);
    expect(done.transitions.map((t) => [`${t.from} → ${t.to}`, t.inputId])).toEqual([
      ["visitor → subscriber", "i1"],
      ["subscriber → lead", "demo"],
      ["lead → mql", "demo"],
    ]);
  });
});
