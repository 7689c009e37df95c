import { compileCondition, type Predicate } from "../evaluate-condition.js";
import { toCents } from "../points.js";
import type { EventInput } from "../types.js";
import { BUILT_IN_GROUPS } from "./check-references.js";
import { type Condition, leavesOf } from "./condition.js";
import type { DecaySpec, MatcherSpec, ModelSpec } from "./model-schema.js";

/** A model turned into closures and indexes, so that scoring one event is a map lookup and a few tests. */

export type Decay = { kind: "none" } | { kind: "half"; ms: number } | { kind: "window"; ms: number };

export interface CompiledRule {
  idx: number;
  id: string;
  group: number;
  cents: number;
  once: boolean;
  cap: { cents: number; ms: number } | null;
  freq: { count: number; ms: number } | null;
  decay: Decay;
}

export interface CompiledFitCase {
  when: Predicate;
  reads: Condition;
  cents: number;
  label?: string;
}

export interface CompiledFit {
  id: string;
  group: number;
  cases: CompiledFitCase[];
}

export interface CompiledGroup {
  name: string;
  cap: number | null;
  floor: number | null;
  reset: boolean;
}

export interface CompiledDisqualifier {
  idx: number;
  id: string;
  mode: "block" | "terminal";
  when: Predicate | null;
}

/** Finds the items whose matcher accepts an event: a lookup by (type, name), then the `where` test. */
interface IndexEntry<T> {
  item: T;
  where: Predicate | null;
  order: number;
}

export class EventIndex<T> {
  private readonly byKey = new Map<string, IndexEntry<T>[]>();
  private readonly byType = new Map<string, IndexEntry<T>[]>();

  constructor(entries: { item: T; match: MatcherSpec }[]) {
    const all = entries.map((e, order) => ({
      ...e,
      order,
      where: e.match.where ? compileCondition(e.match.where) : null,
    }));
    const names = (m: MatcherSpec) => {
      const n = m.type === "track" ? m.event : m.name;
      return n === undefined ? null : [...new Set(Array.isArray(n) ? n : [n])];
    };
    for (const e of all) {
      if (names(e.match) === null) push(this.byType, e.match.type, e);
    }
    for (const e of all) {
      for (const n of names(e.match) ?? []) {
        const key = `${e.match.type}\u0000${n}`;
        if (!this.byKey.has(key)) this.byKey.set(key, [...(this.byType.get(e.match.type) ?? [])]);
        push(this.byKey, key, e);
      }
    }
    for (const list of this.byKey.values()) list.sort((a, b) => a.order - b.order);
  }

  private candidates(e: EventInput) {
    const name = e.type === "track" ? e.event : e.name;
    return (name !== undefined && this.byKey.get(`${e.type}\u0000${name}`)) || this.byType.get(e.type);
  }

  /** Every matching item, in declaration order. */
  matches(e: EventInput): T[] {
    const list = this.candidates(e);
    if (!list) return EMPTY as T[];
    let out: T[] | null = null;
    for (const c of list) {
      if (c.where !== null && !c.where({ properties: e.properties, context: e.context })) continue;
      if (out === null) out = [];
      out.push(c.item);
    }
    return out ?? (EMPTY as T[]);
  }

  first(e: EventInput): T | undefined {
    const list = this.candidates(e);
    if (!list) return undefined;
    for (const c of list) {
      if (c.where === null || c.where({ properties: e.properties, context: e.context })) return c.item;
    }
    return undefined;
  }
}

const EMPTY: readonly unknown[] = Object.freeze([]);

function push<V>(map: Map<string, V[]>, key: string, v: V) {
  const list = map.get(key);
  if (list) list.push(v);
  else map.set(key, [v]);
}

export interface CompiledModel {
  spec: ModelSpec;
  /** `name@version`, stamped on every lead state. */
  key: string;
  groups: CompiledGroup[];
  groupIndex: Map<string, number>;
  fitGroup: number;
  rules: CompiledRule[];
  ruleIndex: EventIndex<CompiledRule>;
  fit: CompiledFit[];
  grades: { A: number; B: number; C: number };
  leadTraits: string[];
  leadEvents: EventIndex<true>;
  handRaisers: EventIndex<string>;
  mql: Predicate;
  disqualifiers: CompiledDisqualifier[];
  terminalEvents: EventIndex<CompiledDisqualifier>;
  cooldownMs: number;
  /** Trait keys the model reads; only these are kept in a lead's state. */
  personKeys: Set<string>;
  accountKeys: Set<string>;
}

function compileDecay(d: DecaySpec | undefined, fallback: Decay): Decay {
  if (d === undefined) return fallback;
  if (d === "none") return { kind: "none" };
  return "halfLife" in d ? { kind: "half", ms: d.halfLife } : { kind: "window", ms: d.lookback };
}

export function compileModel(spec: ModelSpec): CompiledModel {
  const groupNames = [
    ...BUILT_IN_GROUPS,
    ...Object.keys(spec.groups).filter((g) => !(BUILT_IN_GROUPS as readonly string[]).includes(g)),
  ];
  const groupIndex = new Map(groupNames.map((g, i) => [g, i]));
  const groupOf = (name: string | undefined, fallback: string) => groupIndex.get(name ?? fallback) as number;
  const groupDecay = new Map<string, Decay>(
    groupNames.map((g) => [g, compileDecay(spec.groups[g]?.decay, { kind: "none" })]),
  );
  const groups: CompiledGroup[] = groupNames.map((name) => {
    const g = spec.groups[name];
    return {
      name,
      cap: g?.cap === undefined ? null : toCents(g.cap),
      floor: g?.floor === undefined ? null : toCents(g.floor),
      reset: spec.recycle.reset.includes(name),
    };
  });

  const rules: CompiledRule[] = spec.rules.map((r, idx) => {
    const group = r.group ?? "engagement";
    return {
      idx,
      id: r.id,
      group: groupOf(r.group, "engagement"),
      cents: toCents(r.points),
      once: r.once ?? false,
      cap: r.cap ? { cents: toCents(r.cap.points), ms: r.cap.window } : null,
      freq: r.frequency ? { count: r.frequency.count, ms: r.frequency.window } : null,
      decay: compileDecay(r.decay, groupDecay.get(group) ?? { kind: "none" }),
    };
  });

  const personKeys = new Set<string>(["email", ...spec.lifecycle.lead.traits]);
  const accountKeys = new Set<string>();
  const noteReads = (c: Condition) => {
    for (const leaf of leavesOf(c)) {
      if (leaf.subject === "trait") personKeys.add(leaf.key);
      if (leaf.subject === "account") accountKeys.add(leaf.key);
    }
  };

  const fit: CompiledFit[] = spec.fit.map((f) => {
    const cases = f.cases ?? [{ when: f.when as Condition, points: f.points as number }];
    for (const c of cases) noteReads(c.when);
    return {
      id: f.id,
      group: groupOf(f.group, "fit"),
      cases: cases.map((c) => ({
        when: compileCondition(c.when),
        reads: c.when,
        cents: toCents(c.points),
        ...("label" in c && c.label !== undefined ? { label: c.label } : {}),
      })),
    };
  });

  const q = spec.qualification;
  noteReads(q.mql);
  const disqualifiers: CompiledDisqualifier[] = q.disqualifiers.map((d, idx) => {
    if (d.when) noteReads(d.when);
    return { idx, id: d.id, mode: d.mode, when: d.when ? compileCondition(d.when) : null };
  });
  if (personKeys.has("email_domain")) personKeys.add("email");
  if (accountKeys.has("email_domain")) accountKeys.add("email");

  const handRaiserEntries = q.handRaisers.map((h) => ({ item: h.id, match: h.match }));
  return {
    spec,
    key: `${spec.name}@${spec.version}`,
    groups,
    groupIndex,
    fitGroup: groupIndex.get("fit") as number,
    rules,
    ruleIndex: new EventIndex(rules.map((r, i) => ({ item: r, match: spec.rules[i]?.match as MatcherSpec }))),
    fit,
    grades: { A: toCents(spec.grades.A), B: toCents(spec.grades.B), C: toCents(spec.grades.C) },
    leadTraits: spec.lifecycle.lead.traits,
    // Hand-raisers are forms too, so they also count as lead-making events.
    leadEvents: new EventIndex([
      ...spec.lifecycle.lead.events.map((match) => ({ item: true as const, match })),
      ...handRaiserEntries.map((h) => ({ item: true as const, match: h.match })),
    ]),
    handRaisers: new EventIndex(handRaiserEntries),
    mql: compileCondition(q.mql),
    disqualifiers,
    terminalEvents: new EventIndex(
      q.disqualifiers.flatMap((d, i) =>
        d.match ? [{ item: disqualifiers[i] as CompiledDisqualifier, match: d.match }] : [],
      ),
    ),
    cooldownMs: spec.recycle.cooldown ?? 0,
    personKeys,
    accountKeys,
  };
}
