import { QualifyError } from "../errors.js";
import { explainCondition } from "./evaluate-condition.js";
import {
  checkInput,
  emptyLifecycle,
  type LifecycleState,
  mqlContext,
  newSinks,
  type Sinks,
  settle,
} from "./lifecycle.js";
import type { CompiledModel } from "./model/compile-model.js";
import { scoreAt, scoresByName } from "./score-at.js";
import { emptyScoreState, foldInput, isInOrder, type ScoreState } from "./score-state.js";
import { traitFacts } from "./trait-facts.js";
import type { Contribution, Grade, IgnoredInput, Input, Qualification, Stage, Transition } from "./types.js";

/** A lead's whole engine state: compact JSON, stored per lead by the service. */
export interface LeadState {
  v: 1;
  /** The model (`name@version`) that built this state. */
  model: string;
  asOf: number;
  s: ScoreState;
  l: LifecycleState;
}

export interface LeadSummary {
  asOf: number;
  stage: Stage;
  grade: Grade;
  scores: Record<string, number>;
  mqlAt: number | null;
  qualification: Qualification;
}

export interface Evaluation extends LeadSummary {
  model: string;
  contributions: Contribution[];
  transitions: Transition[];
  ignored: IgnoredInput[];
  episodeStart: number | null;
}

/** Shared by results in which nothing happened; frozen, so it cannot be changed by mistake. */
const NONE: readonly never[] = Object.freeze([]);

export type StepResult =
  | {
      state: LeadState;
      transitions: readonly Transition[];
      ignored: readonly IgnoredInput[];
      needsReplayFrom?: undefined;
    }
  | { needsReplayFrom: number; state?: undefined };

export function newLeadState(m: CompiledModel): LeadState {
  return { v: 1, model: m.key, asOf: 0, s: emptyScoreState(), l: emptyLifecycle() };
}

export const compareInputs = (a: Input, b: Input) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Sorted by (at, id), keeping the first input seen for each id and dropping ids in `seen`. */
function sortUnique(inputs: readonly Input[], seen = new Set<string>()): Input[] {
  const out: Input[] = [];
  for (const i of inputs) {
    if (seen.has(i.id)) continue;
    seen.add(i.id);
    out.push(i);
  }
  return out.sort(compareInputs);
}

function assertModel(m: CompiledModel, st: LeadState) {
  if (st.model !== m.key)
    throw new QualifyError(
      "MODEL_MISMATCH",
      `lead state was built by model ${st.model}, not ${m.key}; replay the lead`,
    );
}

/**
 * The loop `replay` and `evaluate` share. `merged` is in (at, id) order; each input is folded into
 * the score state, and the stage machine runs for those marked new, with the scores as of its time.
 * Then the stage machine settles with everything known, as after a `step`.
 */
function run(
  m: CompiledModel,
  st: LeadState,
  merged: { input: Input; isNew: boolean }[],
  ids?: string[],
): Sinks {
  const out = newSinks();
  for (const { input, isNew } of merged) {
    const route = foldInput(m, st.s, input, ids);
    if (isNew) checkInput(m, st.l, st.s, input, out, route);
  }
  settle(m, st.l, st.s, out);
  return out;
}

/**
 * Whether `step` can take this input on the state as it is, without the lead's history: the state
 * was built by this model and the input sorts after its watermark. Callers use it to load only the
 * histories a batch will need.
 */
export function takesInOrder(m: CompiledModel, state: LeadState | null, input: Input): boolean {
  return state !== null && state.model === m.key && isInOrder(state.s, input);
}

/**
 * Incremental scoring. Inputs given in one call become known together. The state alone is used:
 * an input that sorts before the state's watermark returns `needsReplayFrom` (and leaves the state
 * as it was), and the caller replays with `replay`. Otherwise the state is updated in place and
 * returned: the caller owns it (a state read from storage is a fresh copy), and clones it with
 * `structuredClone` first if it must keep the old one.
 */
export function step(m: CompiledModel, state: LeadState, inputs: readonly Input[], t: number): StepResult {
  assertModel(m, state);
  const s = state.s;
  // The state keeps no message ids (the caller removes duplicates); it does know the last one.
  const batch =
    inputs.length === 1 ? (inputs[0]?.id === s.id ? [] : inputs) : sortUnique(inputs, new Set([s.id]));
  const first = batch[0];
  if (first && !isInOrder(s, first)) return { needsReplayFrom: first.at };
  const out = newSinks();
  for (const input of batch) checkInput(m, state.l, s, input, out, foldInput(m, s, input));
  settle(m, state.l, s, out);
  state.asOf = Math.max(t, s.at ?? t, state.asOf);
  return { state, transitions: out.transitions ?? NONE, ignored: out.ignored ?? NONE };
}

/**
 * Applies late inputs. The score state is rebuilt from `history` (every input known before, in any
 * order) merged with `inputs`; the stage machine continues from `state`, so transitions already
 * emitted stay as they were, and new ones are stamped no earlier than the last. Like `step`, it
 * updates the given state and returns it.
 */
export function replay(
  m: CompiledModel,
  state: LeadState,
  history: readonly Input[],
  inputs: readonly Input[],
  t: number,
): { state: LeadState; transitions: readonly Transition[]; ignored: readonly IgnoredInput[] } {
  assertModel(m, state);
  const seen = new Set<string>();
  const known = sortUnique(history, seen);
  const fresh = sortUnique(inputs, seen);
  const asOf = state.asOf;
  state.s = emptyScoreState();
  const out = run(m, state, mergeSorted(known, fresh));
  state.asOf = Math.max(t, state.s.at ?? t, asOf);
  return { state, transitions: out.transitions ?? NONE, ignored: out.ignored ?? NONE };
}

function mergeSorted(known: Input[], fresh: Input[]): { input: Input; isNew: boolean }[] {
  const out: { input: Input; isNew: boolean }[] = [];
  let i = 0;
  let j = 0;
  while (i < known.length || j < fresh.length) {
    const a = known[i];
    const b = fresh[j];
    if (b === undefined || (a !== undefined && compareInputs(a, b) < 0)) {
      out.push({ input: a as Input, isNew: false });
      i++;
    } else {
      out.push({ input: b, isNew: true });
      j++;
    }
  }
  return out;
}

/** The headline figures of a state at its `asOf` (or a later `t`, for decay). */
export function summarize(m: CompiledModel, st: LeadState, t = st.asOf): LeadSummary {
  const sheet = scoreAt(m, st.s, t);
  return {
    asOf: t,
    stage: st.l.stage,
    grade: sheet.grade,
    scores: scoresByName(m, sheet.cents),
    mqlAt: st.l.mqlAt,
    qualification: qualificationOf(m, st, sheet.cents, sheet.grade, t),
  };
}

/** The contributions of a state at `t`, without message ids (the state keeps none). */
export function contributionsOf(m: CompiledModel, st: LeadState, t = st.asOf): Contribution[] {
  return scoreAt(m, st.s, t, true).contributions;
}

/**
 * Full recompute: every input with a time up to `t`, in (at, id) order, duplicates once. Returns
 * scores, grade, stage, every contribution (with its message id) and every transition.
 */
export function evaluate(m: CompiledModel, inputs: readonly Input[], t: number): Evaluation {
  const sorted = sortUnique(inputs).filter((i) => i.at <= t);
  const st = newLeadState(m);
  const ids: string[] = [];
  const out = run(
    m,
    st,
    sorted.map((input) => ({ input, isNew: true })),
    ids,
  );
  st.asOf = t;
  const sheet = scoreAt(m, st.s, t, true, ids);
  return {
    model: m.key,
    asOf: t,
    stage: st.l.stage,
    grade: sheet.grade,
    scores: scoresByName(m, sheet.cents),
    mqlAt: st.l.mqlAt,
    qualification: qualificationOf(m, st, sheet.cents, sheet.grade, t),
    contributions: sheet.contributions,
    transitions: out.transitions ?? [],
    ignored: out.ignored ?? [],
    episodeStart: st.s.ep,
  };
}

/** Folds inputs in the order they became known, as live processing does; used by backtests. */
export function replayInIngestOrder(
  m: CompiledModel,
  inputs: readonly Input[],
  t: number,
): { state: LeadState; transitions: Transition[]; ignored: IgnoredInput[] } {
  let st = newLeadState(m);
  const known: Input[] = [];
  const transitions: Transition[] = [];
  const ignored: IgnoredInput[] = [];
  const seen = new Set<string>();
  for (const input of inputs) {
    if (input.at > t || seen.has(input.id)) continue;
    seen.add(input.id);
    let r = step(m, st, [input], input.at);
    if (r.needsReplayFrom !== undefined) r = replay(m, st, known, [input], input.at);
    const done = r as { state: LeadState; transitions: Transition[]; ignored: IgnoredInput[] };
    st = done.state;
    transitions.push(...done.transitions);
    ignored.push(...done.ignored);
    known.push(input);
  }
  st.asOf = Math.max(t, st.asOf);
  return { state: st, transitions, ignored };
}

function qualificationOf(
  m: CompiledModel,
  st: LeadState,
  cents: number[],
  grade: Grade,
  t: number,
): Qualification {
  const L = st.l;
  const s = st.s;
  const facts = traitFacts(m, s);
  switch (L.stage) {
    case "visitor":
    case "subscriber":
      return {
        status: "not-a-lead",
        reason: `needs ${m.leadTraits.join(", ")} and a lead-making event`,
        rules: [],
      };
    case "disqualified":
      return { status: "disqualified", reason: L.why ?? "disqualified", rules: L.whyRules.slice() };
    case "mql":
      return {
        status: "qualified",
        reason: `MQL at ${new Date(L.mqlAt ?? t).toISOString()}: ${L.why}`,
        rules: L.whyRules.slice(),
      };
    case "sal":
    case "sql":
    case "opportunity":
    case "customer":
      return { status: "with-sales", reason: `stage ${L.stage}`, rules: [] };
    default: {
      const blockers = facts.blockers.slice();
      if (blockers.length > 0)
        return { status: "blocked", reason: `blocked by ${blockers.join(", ")}`, rules: blockers };
      if (L.stage === "recycled" && L.cool !== null && t < L.cool)
        return {
          status: "cooldown",
          reason: `recycled; cooldown until ${new Date(L.cool).toISOString()}`,
          rules: [],
        };
      const ctx = mqlContext(m, facts, { cents, grade }, L.stage);
      const e = explainCondition(m.spec.qualification.mql, ctx);
      // Qualification is checked when an input arrives; a condition met only through decay waits for one.
      const reason = e.ok ? `${e.text}; qualifies at the next input` : e.text;
      return { status: "not-qualified", reason, rules: [] };
    }
  }
}
