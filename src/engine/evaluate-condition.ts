import { formatDuration } from "./duration.js";
import type { Condition, Leaf, LeafOps } from "./model/condition.js";
import { fromCents, toCents } from "./points.js";
import type { Grade, Stage, TraitValue } from "./types.js";

/** What a condition can look at. Scores are in cents. */
export interface ConditionContext {
  properties?: Record<string, unknown>;
  context?: Record<string, unknown>;
  traits?: Record<string, TraitValue>;
  account?: Record<string, TraitValue>;
  scores?: Record<string, number>;
  grade?: Grade;
  stage?: Stage;
  /** Segments only: the lead's recent events by name, with their times, and the time "now". */
  recentEvents?: readonly { name: string; at: number }[];
  now?: number;
}

export type Predicate = (ctx: ConditionContext) => boolean;

const GRADE_RANK: Record<string, number> = { A: 0, B: 1, C: 2, D: 3 };

/** An own property only: names such as `constructor` are never read from the prototype. */
function own(obj: Record<string, unknown> | undefined, key: string): unknown {
  return obj !== undefined && Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function lookupPath(obj: Record<string, unknown> | undefined, path: string): unknown {
  if (!obj) return undefined;
  if (Object.hasOwn(obj, path)) return obj[path];
  let cur: unknown = obj;
  for (const part of path.split(".")) {
    if (typeof cur !== "object" || cur === null || Array.isArray(cur)) return undefined;
    cur = own(cur as Record<string, unknown>, part);
  }
  return cur;
}

/** Present means not missing, not null, not empty text and not an empty list. */
export function isPresent(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(isPresent);
  return v !== undefined && v !== null && v !== "";
}

/** The value a leaf reads; scores come back in points. */
function leafValue(leaf: Leaf, ctx: ConditionContext): unknown {
  switch (leaf.subject) {
    case "property":
      return lookupPath(ctx.properties, leaf.key);
    case "context":
      return lookupPath(ctx.context, leaf.key);
    case "trait":
      return own(ctx.traits, leaf.key);
    case "account":
      return own(ctx.account, leaf.key);
    case "score": {
      const cents = own(ctx.scores, leaf.key) as number | undefined;
      return cents === undefined ? undefined : fromCents(cents);
    }
    case "grade":
    case "minGrade":
      return ctx.grade;
    case "stage":
      return ctx.stage;
    case "event":
      return countRecent(leaf, ctx);
  }
}

function countRecent(leaf: Extract<Leaf, { subject: "event" }>, ctx: ConditionContext): number {
  const since = (ctx.now ?? Number.POSITIVE_INFINITY) - leaf.withinMs;
  let n = 0;
  for (const e of ctx.recentEvents ?? []) if (e.at > since && leaf.names.includes(e.name)) n++;
  return n;
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v === "string" && v.trim() !== "") {
    const n = Number(v.replace(/,/g, ""));
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** One test on a value, given its text (undefined unless a string or number) and its number. */
type Check = (v: unknown, text: string | undefined, num: number | undefined) => boolean;

/**
 * Compiles a leaf's operators into one test. Constants are case-folded once and `in` lists become
 * sets; a value is turned into text and parsed as a number at most once per test.
 */
function compileOps(ops: LeafOps, caseSensitive: boolean, cents: boolean): (v: unknown) => boolean {
  const norm = caseSensitive ? (x: string) => x : (x: string) => x.toLowerCase();
  const bound = cents ? toCents : (x: number) => x;
  const checks: Check[] = [];
  let needsNumber = false;
  const numeric = (f: (n: number) => boolean): Check => {
    needsNumber = true;
    return (_v, _t, n) => n !== undefined && f(n);
  };
  if (ops.equals !== undefined) {
    const want = ops.equals;
    if (typeof want === "string") {
      const w = norm(want);
      // Lower-casing can change a string's length (İ), so whole folded strings are compared.
      checks.push((_v, t) => t !== undefined && norm(t) === w);
    } else if (typeof want === "number") {
      const w = bound(want);
      checks.push(numeric((n) => n === w));
    } else checks.push((v) => v === want);
  }
  if (ops.in) {
    const texts = new Set(ops.in.filter((x) => typeof x === "string").map((x) => norm(x as string)));
    const numbers = new Set(ops.in.filter((x) => typeof x === "number").map((x) => bound(x as number)));
    const bools = new Set(ops.in.filter((x) => typeof x === "boolean"));
    if (numbers.size > 0) needsNumber = true;
    checks.push(
      (v, t, n) =>
        (t !== undefined && texts.size > 0 && texts.has(norm(t))) ||
        (n !== undefined && numbers.has(n)) ||
        (typeof v === "boolean" && bools.has(v)),
    );
  }
  if (ops.prefix !== undefined) {
    const p = norm(ops.prefix);
    checks.push((_v, t) => t !== undefined && norm(t).startsWith(p));
  }
  if (ops.suffix !== undefined) {
    const p = norm(ops.suffix);
    checks.push((_v, t) => t !== undefined && norm(t).endsWith(p));
  }
  if (ops.contains !== undefined) {
    const p = norm(ops.contains);
    checks.push((_v, t) => t !== undefined && norm(t).includes(p));
  }
  if (ops.regex !== undefined) {
    const re = new RegExp(ops.regex, caseSensitive ? "" : "i");
    checks.push((_v, t) => t !== undefined && re.test(t));
  }
  if (ops.gt !== undefined) {
    const b = bound(ops.gt);
    checks.push(numeric((n) => n > b));
  }
  if (ops.gte !== undefined) {
    const b = bound(ops.gte);
    checks.push(numeric((n) => n >= b));
  }
  if (ops.lt !== undefined) {
    const b = bound(ops.lt);
    checks.push(numeric((n) => n < b));
  }
  if (ops.lte !== undefined) {
    const b = bound(ops.lte);
    checks.push(numeric((n) => n <= b));
  }
  const only = checks.length === 1 && !needsNumber ? (checks[0] as Check) : null;
  const one = (v: unknown) => {
    const text = typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined;
    if (only !== null) return only(v, text, undefined);
    let num: number | undefined;
    if (needsNumber) {
      num = toNumber(v);
      // Scores are compared exactly, in cents.
      if (cents && num !== undefined) num = toCents(num);
    }
    for (let i = 0; i < checks.length; i++) if (!(checks[i] as Check)(v, text, num)) return false;
    return true;
  };
  const matchValue = (v: unknown) => (typeof v === "object" && Array.isArray(v) ? v.some(one) : one(v));
  if (ops.exists !== undefined) {
    const want = ops.exists;
    return (v) => isPresent(v) === want && (checks.length === 0 || matchValue(v));
  }
  return (v) => v !== undefined && v !== null && matchValue(v);
}

function compileLeaf(leaf: Leaf): Predicate {
  switch (leaf.subject) {
    case "grade": {
      const set = new Set(leaf.values);
      return (ctx) => ctx.grade !== undefined && set.has(ctx.grade);
    }
    case "minGrade": {
      const rank = GRADE_RANK[leaf.value] ?? 3;
      return (ctx) => ctx.grade !== undefined && (GRADE_RANK[ctx.grade] ?? 3) <= rank;
    }
    case "stage": {
      const set = new Set(leaf.values);
      return (ctx) => ctx.stage !== undefined && set.has(ctx.stage);
    }
    case "event": {
      const test = compileOps(leaf.ops, true, false);
      return (ctx) => test(countRecent(leaf, ctx));
    }
    case "score": {
      const test = compileOps(leaf.ops, true, true);
      const key = leaf.key;
      return (ctx) => {
        const cents = own(ctx.scores, key) as number | undefined;
        // Compare cents against cents: the bound is converted, the score already is.
        return cents !== undefined && test(fromCents(cents));
      };
    }
    case "property": {
      const test = compileOps(leaf.ops, leaf.caseSensitive, false);
      const key = leaf.key;
      // Most property names have no dot: read them directly, without the path walk.
      if (!key.includes(".")) return (ctx) => test(own(ctx.properties, key));
      return (ctx) => test(lookupPath(ctx.properties, key));
    }
    case "trait": {
      const test = compileOps(leaf.ops, leaf.caseSensitive, false);
      const key = leaf.key;
      return (ctx) => test(own(ctx.traits, key));
    }
    case "account": {
      const test = compileOps(leaf.ops, leaf.caseSensitive, false);
      const key = leaf.key;
      return (ctx) => test(own(ctx.account, key));
    }
    default: {
      const test = compileOps(leaf.ops, leaf.caseSensitive, false);
      return (ctx) => test(leafValue(leaf, ctx));
    }
  }
}

export function compileCondition(c: Condition): Predicate {
  if ("all" in c) {
    const parts = c.all.map(compileCondition);
    if (parts.length === 1) return parts[0] as Predicate;
    return (ctx) => {
      for (let i = 0; i < parts.length; i++) if (!(parts[i] as Predicate)(ctx)) return false;
      return true;
    };
  }
  if ("any" in c) {
    const parts = c.any.map(compileCondition);
    if (parts.length === 1) return parts[0] as Predicate;
    return (ctx) => {
      for (let i = 0; i < parts.length; i++) if ((parts[i] as Predicate)(ctx)) return true;
      return false;
    };
  }
  if ("not" in c) {
    const inner = compileCondition(c.not);
    return (ctx) => !inner(ctx);
  }
  return compileLeaf(c.leaf);
}

const OP_TEXT: Record<string, string> = {
  equals: "=",
  in: "in",
  prefix: "starts with",
  suffix: "ends with",
  contains: "contains",
  regex: "matches",
  gt: ">",
  gte: "≥",
  lt: "<",
  lte: "≤",
};

function leafText(leaf: Leaf): string {
  switch (leaf.subject) {
    case "grade":
      return `grade in ${leaf.values.join(", ")}`;
    case "minGrade":
      return `grade ${leaf.value} or better`;
    case "stage":
      return `stage in ${leaf.values.join(", ")}`;
    case "event": {
      const ops = Object.entries(leaf.ops).map(([op, v]) => `${OP_TEXT[op] ?? op} ${v}`);
      return `${leaf.names.join(" or ")} ${ops.join(" and ")} times within ${formatDuration(leaf.withinMs)}`;
    }
    default: {
      const name = leaf.subject === "score" ? leaf.key : `${leaf.subject} ${leaf.key}`;
      const parts = Object.entries(leaf.ops).map(([op, v]) => {
        if (op === "exists") return v ? "exists" : "is missing";
        const shown = Array.isArray(v) ? v.join(", ") : String(v);
        return `${OP_TEXT[op] ?? op} ${shown}`;
      });
      return `${name} ${parts.join(" and ")}`;
    }
  }
}

/** A readable form of a condition, for model summaries. */
export function describeCondition(c: Condition): string {
  if ("all" in c) return c.all.map((p) => wrap(p, describeCondition(p))).join(" and ");
  if ("any" in c) return c.any.map((p) => wrap(p, describeCondition(p))).join(" or ");
  if ("not" in c) return `not (${describeCondition(c.not)})`;
  return leafText(c.leaf);
}

function wrap(c: Condition, text: string): string {
  return "leaf" in c || "not" in c ? text : `(${text})`;
}

const compiledLeaves = new WeakMap<Leaf, Predicate>();

/**
 * Explains a condition against a context: for a condition that holds, the leaves that made it hold;
 * for one that does not, the leaves that failed. Each leaf shows the value it saw.
 */
export function explainCondition(c: Condition, ctx: ConditionContext): { ok: boolean; text: string } {
  if ("all" in c) {
    const parts = c.all.map((p) => explainCondition(p, ctx));
    const ok = parts.every((p) => p.ok);
    const shown = ok ? parts : parts.filter((p) => !p.ok);
    return { ok, text: shown.map((p) => p.text).join(" and ") };
  }
  if ("any" in c) {
    const parts = c.any.map((p) => explainCondition(p, ctx));
    const hit = parts.find((p) => p.ok);
    return hit
      ? { ok: true, text: hit.text }
      : { ok: false, text: parts.map((p) => `(${p.text})`).join(" or ") };
  }
  if ("not" in c) {
    const inner = explainCondition(c.not, ctx);
    return { ok: !inner.ok, text: `not (${describeCondition(c.not)})` };
  }
  let test = compiledLeaves.get(c.leaf);
  if (!test) {
    test = compileLeaf(c.leaf);
    compiledLeaves.set(c.leaf, test);
  }
  const ok = test(ctx);
  const seen = leafValue(c.leaf, ctx);
  const shown = seen === undefined || seen === null ? "missing" : JSON.stringify(seen);
  return { ok, text: `${leafText(c.leaf)} (${c.leaf.subject === "score" ? "is" : "was"} ${shown})` };
}
