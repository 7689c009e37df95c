import { type ConditionContext, explainCondition } from "./evaluate-condition.js";
import type { CompiledModel, ModelRoute } from "./model/compile-model.js";
import { rememberFailedCheck, stillFails, upperBoundCents } from "./mql-shortcut.js";
import { gradeOf, type ScoreSheet, scoreAt, scoresByName } from "./score-at.js";
import type { ScoreState } from "./score-state.js";
import { type TraitFacts, traitFacts } from "./trait-facts.js";
import type { Actor, Fact, FactInput, Grade, IgnoredInput, Input, Stage, Transition } from "./types.js";

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
  /**
   * A hand-raiser waiting for the lead to become a lead, or for a block to lift: its id, its time
   * and the input id of the hand-raise. States stored before `hrId` existed lack it: read it as null.
   */
  hr: string | null;
  hrAt: number | null;
  hrId: string | null;
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
    hrId: null,
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

/** The stage facts a lead in `stage` can take (a disqualified lead: reinstated only). */
export function factsAllowedFrom(stage: Stage): Fact[] {
  if (stage === "disqualified") return ["reinstated"];
  return (Object.keys(FACT_MOVES) as (keyof typeof FACT_MOVES)[]).filter((f) =>
    FACT_MOVES[f].from.includes(stage),
  );
}

/** How the reason of a hand-raiser's qualification begins. */
const HAND_RAISER = "hand-raiser";

/** Whether an MQL transition's reason says a hand-raiser qualified the lead (handoffs may have a shorter SLA). */
export const isHandRaiserReason = (reason: string) => reason.startsWith(`${HAND_RAISER} `);

/** Stages where the system itself may disqualify or qualify; later stages belong to sales. */
const SYSTEM_STAGES: ReadonlySet<Stage> = new Set(["visitor", "subscriber", "lead", "mql", "recycled"]);
const PRE_LEAD: ReadonlySet<Stage> = new Set(["visitor", "subscriber"]);
/** Stages in which a waiting hand-raise may still qualify the lead. */
const SETTLE_STAGES: ReadonlySet<Stage> = new Set(["visitor", "subscriber", "lead", "recycled"]);

function meetsLeadCriteria(m: CompiledModel, s: ScoreState): boolean {
  return s.le && traitFacts(m, s).leadTraitsKnown;
}

function preLeadStage(m: CompiledModel, s: ScoreState): Stage {
  if (meetsLeadCriteria(m, s)) return "lead";
  return traitFacts(m, s).emailKnown ? "subscriber" : "visitor";
}

/** Where the stage machine reports. The lists are allocated on first use: most inputs move nothing. */
export interface Sinks {
  transitions: Transition[] | null;
  ignored: IgnoredInput[] | null;
}

export function newSinks(): Sinks {
  return { transitions: null, ignored: null };
}

/**
 * One check of the stage machine: at an input (`checkInput`), or once a batch is in (`settle`).
 * The scores are read as of `at`, once something needs them; the transitions it makes are recorded
 * against the input `inputId`, whose event time is `triggerAt`.
 */
interface Check {
  m: CompiledModel;
  L: LifecycleState;
  s: ScoreState;
  out: Sinks;
  at: number;
  triggerAt: number;
  inputId: string;
  sheet: ScoreSheet | null;
}

function sheetOf(c: Check): ScoreSheet {
  c.sheet ??= scoreAt(c.m, c.s, c.at);
  return c.sheet;
}

/** Reused by every bound check: it is read within the check and never kept. */
const upperScratch: number[] = [];

/** Records a transition, stamped no earlier than the previous one, and moves the lead. */
function move(c: Check, to: Stage, actor: Actor, rules: string[], reason: string, by?: string): void {
  const { L, triggerAt } = c;
  const sh = sheetOf(c);
  const at = L.at === null ? triggerAt : Math.max(L.at, triggerAt);
  const transition: Transition = {
    from: L.stage,
    to,
    at,
    triggerAt,
    inputId: c.inputId,
    actor,
    rules,
    reason,
    scores: scoresByName(c.m, sh.cents),
    grade: sh.grade,
  };
  if (by !== undefined) transition.by = by;
  c.out.transitions ??= [];
  c.out.transitions.push(transition);
  if (to === "disqualified" || to === "mql") {
    L.why = reason;
    L.whyRules = rules;
  }
  if (to === "recycled") L.cool = triggerAt + c.m.cooldownMs;
  if (to === "mql") L.mqlAt = at;
  // A waiting hand-raise belongs to the stage it was made in.
  if (to === "recycled" || to === "mql" || to === "disqualified") {
    L.hr = null;
    L.hrAt = null;
    L.hrId = null;
  }
  L.stage = to;
  L.at = at;
}

function isWaived(L: LifecycleState, idx: number): boolean {
  for (let i = 0; i < L.waived.length; i += 2) if (L.waived[i] === idx) return true;
  return false;
}

/** `first` followed by the ids of the terminal disqualifiers that hold and are not waived; null if none. */
function terminalsHolding(
  m: CompiledModel,
  L: LifecycleState,
  facts: TraitFacts,
  first: string | null,
): string[] | null {
  let fired: string[] | null = first === null ? null : [first];
  for (let i = 0; i < facts.terminal.length; i++) {
    if (!facts.terminal[i] || isWaived(L, i)) continue;
    fired ??= [];
    fired.push(m.disqualifiers[i]?.id as string);
  }
  return fired;
}

/** Records a fact the stage does not allow; returns false, for `applyFact`. */
function ignore(c: Check, reason: string): false {
  c.out.ignored ??= [];
  c.out.ignored.push({ inputId: c.inputId, reason });
  return false;
}

/**
 * A stage fact from a user or the CRM: the move it asks for, if the stage allows it. Returns
 * false when the fact is ignored; an ignored fact changes nothing else either.
 */
function applyFact(c: Check, input: FactInput, facts: TraitFacts): boolean {
  const { L } = c;
  const why = `${input.fact} by ${input.actor}${input.by ? ` ${input.by}` : ""}${input.reason ? `: ${input.reason}` : ""}`;
  if (input.fact === "reinstated") {
    if (L.stage !== "disqualified") return ignore(c, `reinstated: the lead is ${L.stage}, not disqualified`);
    if (input.actor !== "user") return ignore(c, "reinstated: only a user may reinstate a lead");
    for (const d of c.m.disqualifiers) {
      if (facts.terminal[d.idx] && !isWaived(L, d.idx)) L.waived.push(d.idx, input.at);
    }
    move(c, preLeadStage(c.m, c.s), input.actor, [], why, input.by);
    return true;
  }
  const rule = FACT_MOVES[input.fact];
  if (!rule.from.includes(L.stage)) return ignore(c, `${input.fact}: not allowed from stage ${L.stage}`);
  move(c, rule.to, input.actor, [], why, input.by);
  return true;
}

/**
 * Runs the stage machine for one input. `s` already includes the input, folded in time order;
 * `route` is what the input matched (rules, hand-raiser, event disqualifier).
 */
export function checkInput(
  m: CompiledModel,
  L: LifecycleState,
  s: ScoreState,
  input: Input,
  out: Sinks,
  route: ModelRoute,
): void {
  const c: Check = { m, L, s, out, at: input.at, triggerAt: input.at, inputId: input.id, sheet: null };
  const facts = traitFacts(m, s);
  if (L.waived.length > 0) {
    // A late input sees older traits; only an input no older than the waiver can end it.
    const kept: number[] = [];
    for (let i = 0; i < L.waived.length; i += 2) {
      const idx = L.waived[i] as number;
      const since = L.waived[i + 1] as number;
      if (input.at < since || facts.terminal[idx]) kept.push(idx, since);
    }
    L.waived = kept;
  }

  if (input.kind === "fact" && !applyFact(c, input, facts)) return;
  if (!SYSTEM_STAGES.has(L.stage)) return;

  const fired = terminalsHolding(m, L, facts, route.terminal ? route.terminal.id : null);
  if (fired !== null) {
    move(c, "disqualified", "system", fired, `terminal disqualifier: ${fired.join(", ")}`);
    return;
  }

  if (L.stage !== "mql") {
    const h = route.handRaiser;
    if (h !== undefined && (L.hrAt === null || input.at >= L.hrAt)) {
      L.hr = h;
      L.hrAt = input.at;
      L.hrId = input.id;
    }
  }

  if (PRE_LEAD.has(L.stage)) {
    if (meetsLeadCriteria(m, s)) {
      move(c, "lead", "system", [], m.leadReason);
    } else {
      if (L.stage === "visitor" && facts.emailKnown) move(c, "subscriber", "system", [], "email known");
      return;
    }
  }

  if ((L.stage !== "lead" && L.stage !== "recycled") || facts.blockers.length > 0) return;
  // A hand-raise waits for a later input; a late input from before it cannot use it (`settle` may).
  if (L.hr !== null && L.hrAt !== null && input.at >= L.hrAt) {
    move(c, "mql", "system", [L.hr], `${HAND_RAISER} ${L.hr}`);
    return;
  }
  if (L.stage === "recycled" && L.cool !== null && input.at < L.cool) return;
  if (m.mqlMonotone) {
    if (stillFails(L, s, facts, input.at)) return;
    // Undecayed positive points bound every score from above; if even they fall short, so do the scores.
    const upper = upperBoundCents(m, s, facts, upperScratch);
    if (
      !m.mql(mqlContext(m, facts, { cents: upper, grade: gradeOf(m, upper[m.fitGroup] as number) }, L.stage))
    ) {
      rememberFailedCheck(L, s, input.at, facts);
      return;
    }
  }
  const sh = sheetOf(c);
  const ctx = mqlContext(m, facts, sh, L.stage);
  if (m.mql(ctx)) {
    move(
      c,
      "mql",
      "system",
      route.rules.map((r) => r.id),
      explainCondition(m.spec.qualification.mql, ctx).text,
    );
  } else if (m.mqlMonotone) rememberFailedCheck(L, s, input.at, facts);
}

/**
 * Runs once the inputs of a `step` or `replay` are all folded in, so `s` holds every input known.
 * A late input is checked with the traits of its own time and cannot use a hand-raise made after
 * it; so a hand-raise can be left waiting although, with everything known now, it would qualify
 * the lead (say, an anonymous demo request, then the late identify that gives its email). Checked
 * here against the current traits: if the person meets the lead criteria and no disqualifier
 * holds, it becomes a lead if it was not one, and the hand-raise qualifies it, as of the
 * hand-raise. In time order this never fires: the input that made the lead already did it.
 */
export function settle(m: CompiledModel, L: LifecycleState, s: ScoreState, out: Sinks): void {
  const hr = L.hr;
  const hrAt = L.hrAt;
  if (hr === null || hrAt === null || s.at === null || hrAt > s.at || !SETTLE_STAGES.has(L.stage)) return;
  const facts = traitFacts(m, s);
  if (terminalsHolding(m, L, facts, null) !== null || !meetsLeadCriteria(m, s)) return;
  const c: Check = { m, L, s, out, at: s.at, triggerAt: hrAt, inputId: L.hrId ?? hr, sheet: null };
  if (PRE_LEAD.has(L.stage)) move(c, "lead", "system", [], m.leadReason);
  if (facts.blockers.length > 0) return;
  move(c, "mql", "system", [hr], `${HAND_RAISER} ${hr}`);
}

/**
 * What the MQL condition reads: traits, scores in cents by group name, grade and stage. Built
 * field by field: an object spread here cost more than the rest of the check.
 */
export function mqlContext(
  m: CompiledModel,
  facts: TraitFacts,
  sheet: { cents: number[]; grade: Grade },
  stage: Stage,
): ConditionContext {
  const scores: Record<string, number> = {};
  for (let i = 0; i < m.groups.length; i++)
    scores[(m.groups[i] as { name: string }).name] = sheet.cents[i] as number;
  return { traits: facts.ctx.traits, account: facts.ctx.account, scores, grade: sheet.grade, stage };
}
