import { explainCondition, isPresent as present } from "./evaluate-condition.js";
import type { CompiledModel } from "./model/compile-model.js";
import { accountOf, type ScoreSheet, scoreAt, scoresByName } from "./score-at.js";
import type { ScoreState } from "./score-state.js";
import type { Actor, Fact, IgnoredInput, Input, Stage, Transition } from "./types.js";

/**
 * The ingest-ordered part of a lead's state: its stage machine. Qualification is checked only when
 * an input arrives, with the scores as of that input's time.
 */
export interface LifecycleState {
  stage: Stage;
  /** Time of the last transition. */
  at: number | null;
  /** End of the cooldown after a recycle. */
  cool: number | null;
  /** A hand-raiser waiting for the lead to become a lead, or for a block to lift, and its time. */
  hr: string | null;
  hrAt: number | null;
  /**
   * Terminal disqualifiers that a user overrode while they held, as [index, time] pairs; each stays
   * waived until it stops holding at an input no older than the waiver.
   */
  waived: number[];
  mqlAt: number | null;
  /** Why the lead was last qualified or disqualified, and the rules that did it. */
  why: string | null;
  whyRules: string[];
}

export function emptyLifecycle(): LifecycleState {
  return {
    stage: "visitor",
    at: null,
    cool: null,
    hr: null,
    hrAt: null,

    waived: [],
    mqlAt: null,
    why: null,
    whyRules: [],
  };
}

/** Stages from which a stage fact may move a lead, and where it goes. Published in docs/scoring-model.md. */
export const FACT_MOVES: Record<Exclude<Fact, "reinstated">, { from: readonly Stage[]; to: Stage }> = {
  accepted: { from: ["mql"], to: "sal" },
  rejected: { from: ["mql", "sal"], to: "recycled" },
  recycled: { from: ["lead", "mql", "sal", "sql", "opportunity"], to: "recycled" },
  converted: { from: ["mql", "sal"], to: "sql" },
  opportunity: { from: ["subscriber", "lead", "mql", "sal", "sql", "recycled"], to: "opportunity" },
  won: { from: ["subscriber", "lead", "mql", "sal", "sql", "opportunity", "recycled"], to: "customer" },
  lost: { from: ["sql", "opportunity"], to: "recycled" },
  disqualified: {
    from: ["visitor", "subscriber", "lead", "mql", "sal", "sql", "opportunity", "recycled"],
    to: "disqualified",
  },
};

/** Stages where the system itself may disqualify or qualify; later stages belong to sales. */
const SYSTEM_STAGES: ReadonlySet<Stage> = new Set(["visitor", "subscriber", "lead", "mql", "recycled"]);
const PRE_LEAD: ReadonlySet<Stage> = new Set(["visitor", "subscriber"]);

export function meetsLeadCriteria(m: CompiledModel, s: ScoreState): boolean {
  return s.le && m.leadTraits.every((k) => present(s.tr[k]));
}

function preLeadStage(m: CompiledModel, s: ScoreState): Stage {
  if (meetsLeadCriteria(m, s)) return "lead";
  return present(s.tr.email) ? "subscriber" : "visitor";
}

export interface Sinks {
  transitions: Transition[];
  ignored: IgnoredInput[];
}

/** Runs the stage machine for one input. `s` already includes the input, folded in time order. */
export function checkInput(
  m: CompiledModel,
  L: LifecycleState,
  s: ScoreState,
  input: Input,
  out: Sinks,
): void {
  let sheet: ScoreSheet | undefined;
  const sheetNow = () => {
    sheet ??= scoreAt(m, s, input.at);
    return sheet;
  };
  const move = (to: Stage, actor: Actor, rules: string[], reason: string, by?: string) => {
    const sh = sheetNow();
    const at = L.at === null ? input.at : Math.max(L.at, input.at);
    out.transitions.push({
      from: L.stage,
      to,
      at,
      triggerAt: input.at,
      inputId: input.id,
      actor,
      ...(by === undefined ? {} : { by }),
      rules,
      reason,
      scores: scoresByName(m, sh.cents),
      grade: sh.grade,
    });
    if (to === "disqualified" || to === "mql") {
      L.why = reason;
      L.whyRules = rules;
    }
    if (to === "recycled") L.cool = input.at + m.cooldownMs;
    if (to === "mql") L.mqlAt = at;
    // A waiting hand-raise belongs to the stage it was made in.
    if (to === "recycled" || to === "mql" || to === "disqualified") {
      L.hr = null;
      L.hrAt = null;
    }
    L.stage = to;
    L.at = at;
  };

  const traitCtx = { traits: s.tr, account: accountOf(s) };
  const terminalHolds = (idx: number) => m.disqualifiers[idx]?.when?.(traitCtx) ?? false;
  const isWaived = (idx: number) => waivedIndexes(L).includes(idx);
  if (L.waived.length > 0) {
    // A late input sees older traits; only an input no older than the waiver can end it.
    const kept: number[] = [];
    for (let i = 0; i < L.waived.length; i += 2) {
      const idx = L.waived[i] as number;
      const since = L.waived[i + 1] as number;
      if (input.at < since || terminalHolds(idx)) kept.push(idx, since);
    }
    L.waived = kept;
  }

  if (input.kind === "fact") {
    const why = `${input.fact} by ${input.actor}${input.by ? ` ${input.by}` : ""}${input.reason ? `: ${input.reason}` : ""}`;
    if (input.fact === "reinstated") {
      if (L.stage !== "disqualified")
        return void out.ignored.push({
          inputId: input.id,
          reason: `reinstated: the lead is ${L.stage}, not disqualified`,
        });
      if (input.actor !== "user")
        return void out.ignored.push({
          inputId: input.id,
          reason: "reinstated: only a user may reinstate a lead",
        });
      for (const d of m.disqualifiers) {
        if (d.mode === "terminal" && terminalHolds(d.idx) && !isWaived(d.idx)) L.waived.push(d.idx, input.at);
      }
      move(preLeadStage(m, s), input.actor, [], why, input.by);
    } else {
      const rule = FACT_MOVES[input.fact];
      if (!rule.from.includes(L.stage)) {
        return void out.ignored.push({
          inputId: input.id,
          reason: `${input.fact}: not allowed from stage ${L.stage}`,
        });
      }
      move(rule.to, input.actor, [], why, input.by);
    }
  }

  if (!SYSTEM_STAGES.has(L.stage)) return;

  const fired: string[] = [];
  if (input.kind === "event") {
    const d = m.terminalEvents.first(input);
    if (d) fired.push(d.id);
  }
  for (const d of m.disqualifiers) {
    if (d.mode === "terminal" && d.when && !isWaived(d.idx) && d.when(traitCtx)) fired.push(d.id);
  }
  if (fired.length > 0) {
    move("disqualified", "system", fired, `terminal disqualifier: ${fired.join(", ")}`);
    return;
  }

  if (input.kind === "event" && L.stage !== "mql") {
    const h = m.handRaisers.first(input);
    if (h !== undefined && (L.hrAt === null || input.at >= L.hrAt)) {
      L.hr = h;
      L.hrAt = input.at;
    }
  }

  if (PRE_LEAD.has(L.stage)) {
    if (meetsLeadCriteria(m, s)) {
      move("lead", "system", [], `${m.leadTraits.join(", ")} known and a lead-making event seen`);
    } else if (L.stage === "visitor" && present(s.tr.email)) {
      move("subscriber", "system", [], "email known");
      return;
    } else return;
  }

  if (L.stage !== "lead" && L.stage !== "recycled") return;
  if (m.disqualifiers.some((d) => d.mode === "block" && d.when?.(traitCtx))) return;
  // A hand-raise waits for a later input; a late input from before it cannot use it.
  if (L.hr !== null && L.hrAt !== null && input.at >= L.hrAt) {
    move("mql", "system", [L.hr], `hand-raiser ${L.hr}`);
    return;
  }
  if (L.stage === "recycled" && L.cool !== null && input.at < L.cool) return;
  const sh = sheetNow();
  const ctx = { ...traitCtx, scores: byName(m, sh.cents), grade: sh.grade, stage: L.stage };
  if (m.mql(ctx)) {
    const rules = input.kind === "event" ? m.ruleIndex.matches(input).map((r) => r.id) : [];
    move("mql", "system", rules, explainCondition(m.spec.qualification.mql, ctx).text);
  }
}

function waivedIndexes(L: LifecycleState): number[] {
  return L.waived.filter((_, i) => i % 2 === 0);
}

/** Scores in cents keyed by group name, as conditions read them. */
export function byName(m: CompiledModel, cents: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  m.groups.forEach((g, i) => {
    out[g.name] = cents[i] as number;
  });
  return out;
}
