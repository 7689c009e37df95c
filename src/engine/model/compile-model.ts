import { compileCondition, type Predicate } from "../evaluate-condition.js";
import { isMonotoneInScores } from "../mql-shortcut.js";
import { toCents } from "../points.js";
import { BUILT_IN_GROUPS } from "./check-references.js";
import { type Condition, leavesOf } from "./condition.js";
import { EventRouter, type Route } from "./event-router.js";
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

/** What one event matches in a model. */
export type ModelRoute = Route<CompiledRule, CompiledDisqualifier>;

export interface CompiledModel {
  spec: ModelSpec;
  /** `name@version`, stamped on every lead state. */
  key: string;
  groups: CompiledGroup[];
  groupIndex: Map<string, number>;
  fitGroup: number;
  rules: CompiledRule[];
  /** Everything an event matches, in one lookup. */
  router: EventRouter<CompiledRule, CompiledDisqualifier>;
  fit: CompiledFit[];
  grades: { A: number; B: number; C: number };
  leadTraits: string[];
  /** The reason recorded when a lead qualifies as a lead. */
  leadReason: string;
  mql: Predicate;
  /** The MQL condition can only turn true as scores rise, so unchanged failed checks may be skipped. */
  mqlMonotone: boolean;
  disqualifiers: CompiledDisqualifier[];
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

export interface CompileOptions {
  /** Skip MQL checks that cannot succeed (default true); off only to test that they change nothing. */
  shortcuts?: boolean;
}

export function compileModel(spec: ModelSpec, options: CompileOptions = {}): CompiledModel {
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

  return {
    spec,
    key: `${spec.name}@${spec.version}`,
    groups,
    groupIndex,
    fitGroup: groupIndex.get("fit") as number,
    rules,
    fit,
    grades: { A: toCents(spec.grades.A), B: toCents(spec.grades.B), C: toCents(spec.grades.C) },
    leadTraits: spec.lifecycle.lead.traits,
    leadReason: `${spec.lifecycle.lead.traits.join(", ")} known and a lead-making event seen`,
    mql: compileCondition(q.mql),
    mqlMonotone: options.shortcuts !== false && isMonotoneInScores(q.mql),
    disqualifiers,
    router: new EventRouter<CompiledRule, CompiledDisqualifier>([
      ...rules.map((rule, i) => ({
        target: { kind: "rule" as const, rule },
        match: spec.rules[i]?.match as MatcherSpec,
      })),
      // Hand-raisers are forms too, so they also count as lead-making events.
      ...[...spec.lifecycle.lead.events, ...q.handRaisers.map((h) => h.match)].map((match) => ({
        target: { kind: "lead" as const },
        match,
      })),
      ...q.handRaisers.map((h) => ({ target: { kind: "handRaiser" as const, id: h.id }, match: h.match })),
      ...q.disqualifiers.flatMap((d, i) =>
        d.match
          ? [
              {
                target: { kind: "terminal" as const, disqualifier: disqualifiers[i] as CompiledDisqualifier },
                match: d.match,
              },
            ]
          : [],
      ),
    ]),
    cooldownMs: spec.recycle.cooldown ?? 0,
    personKeys,
    accountKeys,
  };
}
