import { type ConditionContext, compileCondition, type Predicate } from "../evaluate-condition.js";
import type { EventInput } from "../types.js";
import type { MatcherSpec } from "./model-schema.js";

/**
 * Finds, in one lookup per event, everything in a model that the event matches: its engagement
 * rules, whether it is a lead-making event, the first hand-raiser and the first event
 * disqualifier. The lookup is by (type, name); then each candidate's `where` runs.
 */

export type Target<R, D> =
  | { kind: "rule"; rule: R }
  | { kind: "lead" }
  | { kind: "handRaiser"; id: string }
  | { kind: "terminal"; disqualifier: D };

export interface Route<R, D> {
  rules: R[];
  lead: boolean;
  handRaiser: string | undefined;
  terminal: D | undefined;
}

interface Entry<R, D> {
  target: Target<R, D>;
  where: Predicate | null;
  order: number;
}

/** The route of an input that matches nothing. */
export const NO_ROUTE: Route<never, never> = Object.freeze({
  rules: Object.freeze([]) as unknown as never[],
  lead: false,
  handRaiser: undefined,
  terminal: undefined,
});

function namesOf(m: MatcherSpec): string[] | null {
  const n = m.type === "track" ? m.event : m.name;
  return n === undefined ? null : [...new Set(Array.isArray(n) ? n : [n])];
}

export class EventRouter<R, D> {
  /** type → name → candidates (named matchers plus the type-wide ones), in declaration order. */
  private readonly byName = new Map<string, Map<string, Entry<R, D>[]>>();
  /** type → the matchers that name no event. */
  private readonly byType = new Map<string, Entry<R, D>[]>();

  constructor(targets: { target: Target<R, D>; match: MatcherSpec }[]) {
    const all = targets.map((t, order) => ({
      ...t,
      order,
      where: t.match.where ? compileCondition(t.match.where) : null,
    }));
    for (const e of all) {
      if (namesOf(e.match) !== null) continue;
      const list = this.byType.get(e.match.type) ?? [];
      this.byType.set(e.match.type, [...list, e]);
    }
    for (const e of all) {
      for (const n of namesOf(e.match) ?? []) {
        const forType = this.byName.get(e.match.type) ?? new Map<string, Entry<R, D>[]>();
        this.byName.set(e.match.type, forType);
        const list = forType.get(n) ?? [...(this.byType.get(e.match.type) ?? [])];
        list.push(e);
        forType.set(n, list);
      }
    }
    for (const forType of this.byName.values()) {
      for (const list of forType.values()) list.sort((a, b) => a.order - b.order);
    }
  }

  /** Reused by every call: a route is read before the next event is routed, never kept. */
  private readonly scratch: Route<R, D> = {
    rules: [],
    lead: false,
    handRaiser: undefined,
    terminal: undefined,
  };

  /**
   * What the event matches, valid until the next call. Events that match nothing share one
   * frozen, empty route.
   */
  route(e: EventInput): Route<R, D> {
    const name = e.type === "track" ? e.event : e.name;
    const list = (name !== undefined && this.byName.get(e.type)?.get(name)) || this.byType.get(e.type);
    let out: Route<R, D> | null = null;
    if (list) {
      for (const c of list) {
        // An event carries `properties` and `context`, which is all a matcher's condition reads.
        if (c.where !== null && !c.where(e as ConditionContext)) continue;
        if (out === null) {
          out = this.scratch;
          out.rules.length = 0;
          out.lead = false;
          out.handRaiser = undefined;
          out.terminal = undefined;
        }
        const t = c.target;
        if (t.kind === "rule") out.rules.push(t.rule);
        else if (t.kind === "lead") out.lead = true;
        else if (t.kind === "handRaiser") out.handRaiser ??= t.id;
        else out.terminal ??= t.disqualifier;
      }
    }
    return out ?? (NO_ROUTE as Route<R, D>);
  }
}
