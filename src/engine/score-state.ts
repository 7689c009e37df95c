import { mergeTraits } from "./merge-traits.js";
import type { CompiledModel, CompiledRule, Decay, ModelRoute } from "./model/compile-model.js";
import { NO_ROUTE } from "./model/event-router.js";
import { roundHalfEven } from "./points.js";
import { forgetTraitFacts } from "./trait-facts.js";
import type { Input, TraitValue } from "./types.js";

/**
 * The compact, time-ordered part of a lead's state: everything needed to score the lead from now
 * on without its history. It is plain JSON. Inputs must be folded in (at, id) order.
 */
export interface ScoreState {
  /** The last input folded, in (at, id) order: the watermark. */
  at: number | null;
  id: string;
  /** Start of the current scoring episode (the last recycle), if any. */
  ep: number | null;
  /** Live event contributions as flat triples: [rule index, event time, raw cents, ...]. */
  c: number[];
  /** Capped rules: [time, raw cents awarded, ...] within the cap window. */
  cw: Record<string, number[]>;
  /** Frequency rules: match times since the rule last fired, within its window. */
  fq: Record<string, number[]>;
  /** `once` rules that fired in this episode. */
  once: number[];
  /** The person's traits that the model reads. */
  tr: Record<string, TraitValue>;
  /** The lead's current account (groupId) and the traits the model reads, per account. */
  gid: string | null;
  /**
   * How the lead came to its account, which decides whether a later match by email domain (an
   * account input with `member`) moves it: 2 once the lead made a `group` call (then only its group
   * calls move it), 1 matched to a `group` account, absent for an implicit domain account or none.
   * A match moves the lead unless it ranks lower (an implicit account never takes a lead from a
   * real one).
   */
  gr?: 1 | 2;
  /**
   * [groupId, traits] pairs. A list, not an object keyed by account id: thousands of distinct keys
   * would each give the engine's objects a new hidden class.
   */
  ac: [string, Record<string, TraitValue>][];
  /** A lead-making event (form, asset, webinar, hand-raiser) has been seen. */
  le: boolean;
  /** How many times points were awarded or reset; lets a failed MQL check be known unchanged. */
  n: number;
}

export function emptyScoreState(): ScoreState {
  return {
    at: null,
    id: "",
    ep: null,
    c: [],
    cw: {},
    fq: {},
    once: [],
    tr: {},
    gid: null,
    ac: [],
    le: false,
    n: 0,
  };
}

/** True when `input` sorts after the watermark, so it can be folded without a replay. */
export function isInOrder(s: ScoreState, input: Input): boolean {
  return s.at === null || input.at > s.at || (input.at === s.at && input.id > s.id);
}

export function decayFactor(decay: Decay, age: number): number {
  switch (decay.kind) {
    case "none":
      return 1;
    case "half":
      return age <= 0 ? 1 : 2 ** (-age / decay.ms);
    case "window":
      return age < decay.ms ? 1 : 0;
  }
}

const RECYCLE_FACTS = new Set(["recycled", "rejected", "lost"]);

/**
 * Folds one input into the score state. `ids`, when given, receives the message id of each
 * contribution (kept parallel to `c`), which full recomputes use for explanations.
 */
export function foldInput(m: CompiledModel, s: ScoreState, input: Input, ids?: string[]): ModelRoute {
  s.at = input.at;
  s.id = input.id;
  if (input.kind === "fact") {
    if (RECYCLE_FACTS.has(input.fact)) startEpisode(m, s, input.at, ids);
    return NO_ROUTE;
  }
  if (input.kind === "account") {
    const rank = input.implicit ? 0 : 1;
    const moved = input.member === true && s.gid !== input.groupId && rank >= (s.gr ?? 0);
    if (moved) {
      s.gid = input.groupId;
      if (rank === 1) s.gr = 1;
      else delete s.gr;
    }
    if (mergeTraits(accountTraits(s, input.groupId), input.traits, m.accountKeys) || moved)
      forgetTraitFacts(s);
    return NO_ROUTE;
  }
  if (input.type === "identify" && input.traits) {
    if (mergeTraits(s.tr, input.traits, m.personKeys)) forgetTraitFacts(s);
  }
  if (input.type === "group" && input.groupId) {
    const moved = s.gid !== input.groupId;
    s.gid = input.groupId;
    s.gr = 2;
    const changed =
      input.traits !== undefined && mergeTraits(accountTraits(s, input.groupId), input.traits, m.accountKeys);
    if (moved || changed) forgetTraitFacts(s);
  }
  const route = m.router.route(input);
  if (route.lead) s.le = true;
  const rules = route.rules;
  for (let i = 0; i < rules.length; i++) award(m, s, rules[i] as CompiledRule, input.at, input.id, ids);
  return route;
}

function accountTraits(s: ScoreState, groupId: string): Record<string, TraitValue> {
  for (const [id, traits] of s.ac) if (id === groupId) return traits;
  const traits: Record<string, TraitValue> = {};
  s.ac.push([groupId, traits]);
  return traits;
}

function award(
  m: CompiledModel,
  s: ScoreState,
  r: CompiledRule,
  at: number,
  id: string,
  ids?: string[],
): void {
  if (r.once && s.once.includes(r.idx)) return;
  if (r.freq) {
    // Match times since the rule last fired, within (at - window, at], compacted in place.
    const times = s.fq[r.idx] ?? [];
    const since = at - r.freq.ms;
    let w = 0;
    for (let i = 0; i < times.length; i++) if ((times[i] as number) > since) times[w++] = times[i] as number;
    times.length = w;
    times.push(at);
    if (times.length < r.freq.count) {
      s.fq[r.idx] = times;
      return;
    }
    delete s.fq[r.idx];
  }
  let cents = r.cents;
  if (r.cap) {
    // The raw points this rule gave in (at - window, at], as [time, cents] pairs compacted in place.
    const pairs = s.cw[r.idx] ?? [];
    const since = at - r.cap.ms;
    let given = 0;
    let w = 0;
    for (let i = 0; i < pairs.length; i += 2) {
      if ((pairs[i] as number) <= since) continue;
      given += pairs[i + 1] as number;
      pairs[w++] = pairs[i] as number;
      pairs[w++] = pairs[i + 1] as number;
    }
    pairs.length = w;
    cents = Math.min(cents, Math.max(0, r.cap.cents - given));
    if (cents > 0) pairs.push(at, cents);
    if (pairs.length > 0) s.cw[r.idx] = pairs;
    else delete s.cw[r.idx];
  }
  if (r.once) s.once.push(r.idx);
  if (cents === 0) return;
  s.n++;
  // Pruning costs a decay per contribution, so it runs as the list doubles: 8, 16, 32, ...
  const n = s.c.length / 3;
  if (n >= 8 && (n & (n - 1)) === 0) prune(m, s, at, ids);
  s.c.push(r.idx, at, cents);
  ids?.push(id);
}

/** Drops contributions worth 0.00 at `at`; decay only shrinks them, so they stay worth 0.00. */
function prune(m: CompiledModel, s: ScoreState, at: number, ids?: string[]): void {
  const c = s.c;
  let w = 0;
  for (let i = 0; i < c.length; i += 3) {
    const rule = m.rules[c[i] as number] as CompiledRule;
    const cents = c[i + 2] as number;
    if (roundHalfEven(cents * decayFactor(rule.decay, at - (c[i + 1] as number))) === 0) continue;
    if (w !== i) {
      c[w] = c[i] as number;
      c[w + 1] = c[i + 1] as number;
      c[w + 2] = cents;
      if (ids) ids[w / 3] = ids[i / 3] as string;
    }
    w += 3;
  }
  c.length = w;
  if (ids) ids.length = w / 3;
}

/** A recycle opens a new episode: reset groups lose their past, and once, caps and frequencies restart. */
function startEpisode(m: CompiledModel, s: ScoreState, at: number, ids?: string[]): void {
  s.ep = at;
  s.n++;
  s.once = [];
  s.cw = {};
  s.fq = {};
  const c = s.c;
  let w = 0;
  for (let i = 0; i < c.length; i += 3) {
    const rule = m.rules[c[i] as number] as CompiledRule;
    if (m.groups[rule.group]?.reset) continue;
    c[w] = c[i] as number;
    c[w + 1] = c[i + 1] as number;
    c[w + 2] = c[i + 2] as number;
    if (ids) ids[w / 3] = ids[i / 3] as string;
    w += 3;
  }
  c.length = w;
  if (ids) ids.length = w / 3;
}
