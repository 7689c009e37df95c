import type { CompiledModel, CompiledRule } from "./model/compile-model.js";
import { type Condition, leavesOf } from "./model/condition.js";
import { fromCents, roundHalfEven } from "./points.js";
import { decayFactor, type ScoreState } from "./score-state.js";
import { traitFacts } from "./trait-facts.js";
import type { Contribution, Grade, TraitValue } from "./types.js";

export interface ScoreSheet {
  /** Score per group index, in cents. */
  cents: number[];
  grade: Grade;
  /** Filled when asked for: every non-zero piece of every score. */
  contributions: Contribution[];
}

export function gradeOf(m: CompiledModel, fitCents: number): Grade {
  if (fitCents >= m.grades.A) return "A";
  if (fitCents >= m.grades.B) return "B";
  if (fitCents >= m.grades.C) return "C";
  return "D";
}

function traitsRead(c: Condition, traits: Record<string, TraitValue>, account: Record<string, TraitValue>) {
  const out: Record<string, TraitValue> = {};
  for (const leaf of leavesOf(c)) {
    if (leaf.subject === "trait") out[leaf.key] = traits[leaf.key] ?? null;
    if (leaf.subject === "account") out[`account.${leaf.key}`] = account[leaf.key] ?? null;
  }
  return out;
}

/**
 * Scores a lead at time `t` from its state: decays each event contribution, adds the fit rules that
 * hold on its traits, then applies group caps and floors. With `collect`, returns the contributions,
 * which add up exactly to each score. `ids` maps event contributions to message ids.
 */
/** Shared, never written: scoreAt only pushes contributions when it collects them. */
const NO_CONTRIBUTIONS: Contribution[] = [];

export function scoreAt(
  m: CompiledModel,
  s: ScoreState,
  t: number,
  collect = false,
  ids?: string[],
): ScoreSheet {
  const facts = traitFacts(m, s);
  // Fit points first: they are known from the traits alone.
  const cents = facts.fitCents.slice();
  const contributions: Contribution[] = collect ? [] : NO_CONTRIBUTIONS;
  const c = s.c;
  for (let i = 0; i < c.length; i += 3) {
    const rule = m.rules[c[i] as number] as CompiledRule;
    const at = c[i + 1] as number;
    const raw = c[i + 2] as number;
    const factor = decayFactor(rule.decay, t - at);
    const eff = roundHalfEven(raw * factor);
    if (eff === 0) continue;
    cents[rule.group] = (cents[rule.group] as number) + eff;
    if (collect) {
      const contribution: Contribution = {
        group: m.groups[rule.group]?.name as string,
        rule: rule.id,
        kind: "event",
        at,
        raw: fromCents(raw),
        factor,
        points: fromCents(eff),
      };
      const eventId = ids?.[i / 3];
      if (eventId !== undefined) contribution.eventId = eventId;
      contributions.push(contribution);
    }
  }
  if (collect) {
    m.fit.forEach((f, fi) => {
      const hit = facts.fitHits[fi];
      if (!hit || hit.cents === 0) return;
      contributions.push({
        group: m.groups[f.group]?.name as string,
        rule: f.id,
        kind: "trait",
        ...(hit.label ? { label: hit.label } : {}),
        traits: traitsRead(hit.reads, facts.ctx.traits, facts.ctx.account),
        raw: fromCents(hit.cents),
        factor: 1,
        points: fromCents(hit.cents),
      });
    });
  }
  m.groups.forEach((g, gi) => {
    const sum = cents[gi] as number;
    const bound = g.cap !== null && sum > g.cap ? g.cap : g.floor !== null && sum < g.floor ? g.floor : null;
    if (bound === null) return;
    cents[gi] = bound;
    if (collect) {
      const diff = fromCents(bound - sum);
      contributions.push({
        group: g.name,
        rule: bound === g.cap ? "cap" : "floor",
        kind: "cap",
        raw: diff,
        factor: 1,
        points: diff,
      });
    }
  });
  return { cents, grade: gradeOf(m, cents[m.fitGroup] as number), contributions };
}

/** Scores by group name, in points. */
export function scoresByName(m: CompiledModel, cents: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  m.groups.forEach((g, i) => {
    out[g.name] = fromCents(cents[i] as number);
  });
  return out;
}
