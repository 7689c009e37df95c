import { type ConditionContext, isPresent } from "./evaluate-condition.js";
import type { CompiledFitCase, CompiledModel } from "./model/compile-model.js";
import type { ScoreState } from "./score-state.js";
import type { TraitValue } from "./types.js";

/**
 * What a lead's traits imply under a model: fit points, which disqualifiers hold, whether the
 * lead traits are known. Traits change far less often than events arrive, so this is computed
 * once per trait change and cached beside the state (never stored in it).
 */
export interface TraitFacts {
  model: CompiledModel;
  ctx: ConditionContext & { traits: Record<string, TraitValue>; account: Record<string, TraitValue> };
  /** Fit points per group, in cents. */
  fitCents: number[];
  /** The matching case of each fit rule, or null. */
  fitHits: (CompiledFitCase | null)[];
  /** Ids of the block disqualifiers that hold. */
  blockers: string[];
  /** Per disqualifier: a terminal one whose trait condition holds. */
  terminal: boolean[];
  leadTraitsKnown: boolean;
  emailKnown: boolean;
}

/**
 * The cache lives on the state under a symbol, non-enumerable, so JSON, structuredClone and
 * deep-equality never see it. (A WeakMap of 100,000 states made every young-generation GC slow.)
 */
const FACTS = Symbol("traitFacts");
type WithFacts = ScoreState & { [FACTS]?: TraitFacts | undefined };

function accountOf(s: ScoreState): Record<string, TraitValue> {
  if (s.gid !== null) for (const [id, traits] of s.ac) if (id === s.gid) return traits;
  return {};
}

/** Drops the cached facts; the fold calls it whenever traits or the account change. */
export function forgetTraitFacts(s: ScoreState): void {
  if ((s as WithFacts)[FACTS] !== undefined) (s as WithFacts)[FACTS] = undefined;
}

function computeFacts(
  m: CompiledModel,
  traits: Record<string, TraitValue>,
  account: Record<string, TraitValue>,
): TraitFacts {
  const ctx = { traits, account };
  const fitCents = new Array<number>(m.groups.length).fill(0);
  const fitHits: (CompiledFitCase | null)[] = [];
  for (const f of m.fit) {
    let hit: CompiledFitCase | null = null;
    for (const k of f.cases) {
      if (k.when(ctx)) {
        hit = k;
        break;
      }
    }
    if (hit) fitCents[f.group] = (fitCents[f.group] as number) + hit.cents;
    fitHits.push(hit);
  }
  const blockers: string[] = [];
  const terminal: boolean[] = [];
  for (const d of m.disqualifiers) {
    const holds = d.when?.(ctx) ?? false;
    if (holds && d.mode === "block") blockers.push(d.id);
    terminal.push(holds && d.mode === "terminal");
  }
  return {
    model: m,
    ctx,
    fitCents,
    fitHits,
    blockers,
    terminal,
    leadTraitsKnown: m.leadTraits.every((k) => isPresent(traits[k])),
    emailKnown: isPresent(traits.email),
  };
}

/** Most leads start with no traits at all; those share one computation per model. */
const noTraits = new WeakMap<CompiledModel, TraitFacts>();

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

export function traitFacts(m: CompiledModel, s: ScoreState): TraitFacts {
  const cached = (s as WithFacts)[FACTS];
  if (cached && cached.model === m) return cached;
  const account = accountOf(s);
  let facts: TraitFacts;
  if (isEmpty(s.tr) && isEmpty(account)) {
    facts = noTraits.get(m) ?? computeFacts(m, {}, {});
    noTraits.set(m, facts);
  } else facts = computeFacts(m, s.tr, account);
  if (Object.hasOwn(s, FACTS)) (s as WithFacts)[FACTS] = facts;
  // A frozen snapshot is read without caching.
  else if (Object.isExtensible(s))
    Object.defineProperty(s, FACTS, { value: facts, writable: true, enumerable: false });
  return facts;
}
