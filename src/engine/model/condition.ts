import { parseDuration } from "../duration.js";
import { hasCentPrecision } from "../points.js";
import { GRADES, STAGES } from "../types.js";

/**
 * The condition language shared by event matchers (`where`), fit rules, disqualifiers and the MQL
 * condition: `all`, `any` and `not` over leaves such as `{ trait: title, regex: "vp|chief" }`.
 */
export const SUBJECTS = [
  "property",
  "context",
  "trait",
  "account",
  "score",
  "grade",
  "minGrade",
  "stage",
  "event",
] as const;
export type Subject = (typeof SUBJECTS)[number];

export const OPERATORS = [
  "equals",
  "in",
  "prefix",
  "suffix",
  "contains",
  "regex",
  "gt",
  "gte",
  "lt",
  "lte",
  "exists",
] as const;
export type Operator = (typeof OPERATORS)[number];

export type Leaf =
  | {
      subject: "property" | "context" | "trait" | "account" | "score";
      key: string;
      ops: LeafOps;
      caseSensitive: boolean;
    }
  | { subject: "grade" | "stage"; values: string[] }
  | { subject: "minGrade"; value: string }
  /** Recent events (segments only): how many of these names within the window; at least one by default. */
  | { subject: "event"; names: string[]; withinMs: number; ops: LeafOps };

export type LeafOps = Partial<{
  equals: string | number | boolean;
  in: (string | number | boolean)[];
  prefix: string;
  suffix: string;
  contains: string;
  regex: string;
  gt: number;
  gte: number;
  lt: number;
  lte: number;
  exists: boolean;
}>;

export type Condition = { all: Condition[] } | { any: Condition[] } | { not: Condition } | { leaf: Leaf };

export type PathPart = string | number;
export interface ConditionError {
  path: PathPart[];
  message: string;
}

const NUMERIC = new Set<Operator>(["gt", "gte", "lt", "lte"]);
const STRINGY = new Set<Operator>(["prefix", "suffix", "contains", "regex"]);

function show(v: unknown): string {
  if (typeof v === "string") return `'${v}'`;
  return JSON.stringify(v) ?? String(v);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}

/**
 * Validates and normalises a raw condition. Errors are pushed with paths relative to `path`;
 * `allowed` lists the subjects that make sense where the condition is used.
 */
export function parseCondition(
  raw: unknown,
  allowed: readonly Subject[],
  path: PathPart[],
  errors: ConditionError[],
): Condition | undefined {
  const fail = (p: PathPart[], message: string): undefined => {
    errors.push({ path: p, message });
    return undefined;
  };
  if (raw === undefined || raw === null) return fail(path, "is required");
  if (!isRecord(raw)) return fail(path, `expected a condition (all, any, not or a leaf), got ${show(raw)}`);
  for (const group of ["all", "any"] as const) {
    if (group in raw) {
      if (Object.keys(raw).length > 1) return fail(path, `'${group}' must stand alone in its object`);
      const list = raw[group];
      if (!Array.isArray(list) || list.length === 0)
        return fail([...path, group], "expected a non-empty list of conditions");
      const parts = list.map((c, i) => parseCondition(c, allowed, [...path, group, i], errors));
      return parts.every((p) => p !== undefined) ? ({ [group]: parts } as Condition) : undefined;
    }
  }
  if ("not" in raw) {
    if (Object.keys(raw).length > 1) return fail(path, "'not' must stand alone in its object");
    const inner = parseCondition(raw.not, allowed, [...path, "not"], errors);
    return inner && { not: inner };
  }
  return parseLeaf(raw, allowed, path, errors);
}

function parseLeaf(
  raw: Record<string, unknown>,
  allowed: readonly Subject[],
  path: PathPart[],
  errors: ConditionError[],
): Condition | undefined {
  const before = errors.length;
  const fail = (p: PathPart[], message: string) => {
    errors.push({ path: p, message });
  };
  const subjects = SUBJECTS.filter((s) => s in raw);
  if (subjects.length !== 1) {
    fail(
      path,
      subjects.length === 0
        ? `expected all, any, not or one of ${allowed.join(", ")}`
        : `a leaf names one subject, got ${subjects.join(" and ")}`,
    );
    return undefined;
  }
  const subject = subjects[0] as Subject;
  if (!allowed.includes(subject)) {
    fail([...path, subject], `'${subject}' cannot be used here; use one of ${allowed.join(", ")}`);
    return undefined;
  }
  const subjectValue = raw[subject];

  if (subject === "grade" || subject === "stage" || subject === "minGrade") {
    for (const key of Object.keys(raw)) if (key !== subject) fail([...path, key], "unknown field");
    const universe: readonly string[] = subject === "stage" ? STAGES : GRADES;
    const list = Array.isArray(subjectValue) ? subjectValue : [subjectValue];
    if (subject === "minGrade" && Array.isArray(subjectValue)) fail([...path, subject], "expected one grade");
    list.forEach((v, i) => {
      if (typeof v !== "string" || !universe.includes(v)) {
        const p = Array.isArray(subjectValue) ? [...path, subject, i] : [...path, subject];
        fail(p, `expected one of ${universe.join(", ")}, got ${show(v)}`);
      }
    });
    if (errors.length > before) return undefined;
    if (subject === "minGrade") return { leaf: { subject, value: list[0] as string } };
    return { leaf: { subject, values: list as string[] } };
  }

  if (subject === "event") return parseEventLeaf(raw, path, errors);

  if (typeof subjectValue !== "string" || subjectValue === "") {
    fail(
      [...path, subject],
      `expected a ${subject === "score" ? "score group name" : "field name"}, got ${show(subjectValue)}`,
    );
  }
  const ops: LeafOps = {};
  let caseSensitive = false;
  for (const [key, value] of Object.entries(raw)) {
    if (key === subject) continue;
    const p = [...path, key];
    if (key === "caseSensitive") {
      if (typeof value !== "boolean") fail(p, `expected true or false, got ${show(value)}`);
      else caseSensitive = value;
      continue;
    }
    if (!(OPERATORS as readonly string[]).includes(key)) {
      fail(p, `unknown operator; use one of ${OPERATORS.join(", ")}`);
      continue;
    }
    const op = key as Operator;
    if (subject === "score" && !NUMERIC.has(op) && op !== "equals" && op !== "exists") {
      fail(p, "a score compares with gt, gte, lt, lte or equals");
    } else if (
      subject === "score" &&
      op !== "exists" &&
      (typeof value !== "number" || !hasCentPrecision(value))
    ) {
      fail(
        p,
        `expected a number of points with at most two decimals (scores compare in hundredths), got ${show(value)}`,
      );
    } else if (NUMERIC.has(op)) {
      if (typeof value !== "number" || !Number.isFinite(value))
        fail(p, `expected a number, got ${show(value)}`);
      else ops[op as "gt"] = value;
    } else if (STRINGY.has(op)) {
      if (typeof value !== "string" || value === "")
        fail(p, `expected a non-empty string, got ${show(value)}`);
      else if (op === "regex") {
        try {
          new RegExp(value);
          ops.regex = value;
        } catch (e) {
          fail(p, `invalid regular expression: ${(e as Error).message}`);
        }
      } else ops[op as "prefix"] = value;
    } else if (op === "exists") {
      if (typeof value !== "boolean") fail(p, `expected true or false, got ${show(value)}`);
      else ops.exists = value;
    } else if (op === "in") {
      if (!Array.isArray(value) || value.length === 0 || !value.every(isScalar))
        fail(p, `expected a non-empty list of values, got ${show(value)}`);
      else ops.in = value;
    } else if (!isScalar(value)) {
      fail(p, `expected a string, number or boolean, got ${show(value)}`);
    } else ops.equals = value;
  }
  if (Object.keys(ops).length === 0 && errors.length === before) {
    fail(path, `'${subject}: ${String(subjectValue)}' needs an operator such as equals, in, gte or exists`);
  }
  if (errors.length > before) return undefined;
  return { leaf: { subject, key: subjectValue as string, ops, caseSensitive } } as Condition;
}

const COUNT_OPS = ["gt", "gte", "lt", "lte", "equals"] as const;

/** `{ event: Webinar Attended, within: 30d, gte: 2 }`: a count of recent events by name. */
function parseEventLeaf(
  raw: Record<string, unknown>,
  path: PathPart[],
  errors: ConditionError[],
): Condition | undefined {
  const before = errors.length;
  const fail = (p: PathPart[], message: string) => {
    errors.push({ path: p, message });
  };
  const names = Array.isArray(raw.event) ? raw.event : [raw.event];
  if (names.length === 0 || !names.every((n) => typeof n === "string" && n !== ""))
    fail([...path, "event"], `expected an event name or a list of names, got ${show(raw.event)}`);
  const within = typeof raw.within === "string" ? parseDuration(raw.within) : undefined;
  if (within === undefined)
    fail([...path, "within"], `expected how far back to count, such as 30d, got ${show(raw.within)}`);
  const ops: LeafOps = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === "event" || key === "within") continue;
    if (!(COUNT_OPS as readonly string[]).includes(key)) {
      fail([...path, key], `unknown field; an event count compares with ${COUNT_OPS.join(", ")}`);
      continue;
    }
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0)
      fail([...path, key], `expected a whole number of events, got ${show(value)}`);
    else ops[key as (typeof COUNT_OPS)[number]] = value;
  }
  if (errors.length > before) return undefined;
  if (Object.keys(ops).length === 0) ops.gte = 1;
  return { leaf: { subject: "event", names: names as string[], withinMs: within as number, ops } };
}

/** Every leaf of a condition, for reference checks and for knowing which traits a model reads. */
export function leavesOf(c: Condition): Leaf[] {
  if ("all" in c) return c.all.flatMap(leavesOf);
  if ("any" in c) return c.any.flatMap(leavesOf);
  if ("not" in c) return leavesOf(c.not);
  return [c.leaf];
}
