import type { LifecycleState } from "./lifecycle.js";
import type { CompiledGroup, CompiledModel, CompiledRule } from "./model/compile-model.js";
import type { Condition } from "./model/condition.js";
import type { ScoreState } from "./score-state.js";
import type { TraitFacts } from "./trait-facts.js";

/**
 * Skipping an MQL check that cannot succeed. When the MQL condition is monotone in the scores
 * (score leaves only use gt/gte, none under `not`), a check that failed stays failed for a later
 * input that gives no points, changes no traits and moves no stage, as long as the lead has no
 * negative event points: positive points only decay, so no score can have risen since. The memory
 * of the failed check is a cache beside the lifecycle state (never stored in it): after a reload
 * the next check simply runs.
 */

/** Grade sets that a better grade stays inside: A; A, B; A, B, C; all four. */
const UPWARD_GRADES = ["A", "AB", "ABC", "ABCD"];

/**
 * True when raising any score (and so possibly the grade, when points count towards fit) can only
 * turn the condition from false to true, never back.
 */
export function isMonotoneInScores(c: Condition, negated = false): boolean {
  if ("all" in c) return c.all.every((p) => isMonotoneInScores(p, negated));
  if ("any" in c) return c.any.every((p) => isMonotoneInScores(p, negated));
  if ("not" in c) return isMonotoneInScores(c.not, !negated);
  const leaf = c.leaf;
  switch (leaf.subject) {
    case "score": {
      const ops = Object.keys(leaf.ops);
      if (ops.every((op) => op === "exists")) return true;
      return !negated && ops.every((op) => op === "gt" || op === "gte" || op === "exists");
    }
    case "minGrade":
      return !negated;
    case "grade":
      return !negated && UPWARD_GRADES.includes([...new Set(leaf.values)].sort().join(""));
    default:
      return true;
  }
}

interface FailedCheck {
  at: number;
  /** The score state and its award count then: a replay builds a new one, an award bumps it. */
  s: ScoreState;
  awards: number;
  facts: TraitFacts;
  stage: string;
  lastMove: number | null;
}

const FAILED = Symbol("failedMqlCheck");
type WithFailed = LifecycleState & { [FAILED]?: FailedCheck | undefined };

export function rememberFailedCheck(L: LifecycleState, s: ScoreState, at: number, facts: TraitFacts): void {
  const last = (L as WithFailed)[FAILED];
  if (last !== undefined) {
    last.at = at;
    last.s = s;
    last.awards = s.n;
    last.facts = facts;
    last.stage = L.stage;
    last.lastMove = L.at;
    return;
  }
  const value: FailedCheck = { at, s, awards: s.n, facts, stage: L.stage, lastMove: L.at };
  if (Object.isExtensible(L)) Object.defineProperty(L, FAILED, { value, writable: true, enumerable: false });
}

/**
 * Each group's score if no point had decayed and no negative event point counted: an upper bound,
 * since decay and rounding never raise a positive contribution, and caps and floors are monotone.
 */
export function upperBoundCents(
  m: CompiledModel,
  s: ScoreState,
  facts: TraitFacts,
  cents: number[],
): number[] {
  // A scratch array shared by models: this model's groups only.
  cents.length = m.groups.length;
  for (let g = 0; g < facts.fitCents.length; g++) cents[g] = facts.fitCents[g] as number;
  const c = s.c;
  for (let i = 0; i < c.length; i += 3) {
    const raw = c[i + 2] as number;
    if (raw > 0) {
      const g = (m.rules[c[i] as number] as CompiledRule).group;
      cents[g] = (cents[g] as number) + raw;
    }
  }
  for (let g = 0; g < cents.length; g++) {
    const group = m.groups[g] as CompiledGroup;
    const sum = cents[g] as number;
    if (group.cap !== null && sum > group.cap) cents[g] = group.cap;
    else if (group.floor !== null && sum < group.floor) cents[g] = group.floor;
  }
  return cents;
}

function hasNegativePoints(s: ScoreState): boolean {
  const c = s.c;
  for (let i = 2; i < c.length; i += 3) if ((c[i] as number) < 0) return true;
  return false;
}

/** Whether the MQL check for this input would fail again, by the reasoning above. */
export function stillFails(L: LifecycleState, s: ScoreState, facts: TraitFacts, at: number): boolean {
  const last = (L as WithFailed)[FAILED];
  return (
    last !== undefined &&
    last.s === s &&
    last.awards === s.n &&
    at >= last.at &&
    last.facts === facts &&
    last.stage === L.stage &&
    last.lastMove === L.at &&
    !hasNegativePoints(s)
  );
}
