import * as z from "zod";
import { parseDuration } from "../duration.js";
import { hasCentPrecision } from "../points.js";
import { EVENT_TYPES } from "../types.js";
import { type Condition, type ConditionError, parseCondition, type Subject } from "./condition.js";
import { dispatch } from "./schema-issues.js";

/** The schema of a scoring model file. `load-model.ts` turns its issues into line-numbered errors. */

const show = (v: unknown) => (typeof v === "string" ? `'${v}'` : (JSON.stringify(v) ?? String(v)));

/** Ids of rules, groups and models: lowercase letters, digits, - and _. */
export const ID_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
/** An id of lowercase letters, digits, '-' and '_' (rules, sequences, steps). */
export const id = z.string({ error: (iss) => `expected an id, got ${show(iss.input)}` }).regex(ID_PATTERN, {
  error: (iss) => `expected an id of lowercase letters, digits, '-' and '_', got ${show(iss.input)}`,
});

/** A duration such as `30d`, `12h` or `90m`, in milliseconds. */
export const duration = z.unknown().transform((v, ctx) => {
  const ms = typeof v === "string" ? parseDuration(v) : undefined;
  if (ms === undefined) {
    ctx.addIssue({
      code: "custom",
      message: `expected a duration like 30d, got ${show(typeof v === "number" ? String(v) : v)}`,
    });
    return z.NEVER;
  }
  return ms;
});

const points = z
  .number({ error: (iss) => `expected a number of points, got ${show(iss.input)}` })
  .refine(hasCentPrecision, { error: (iss) => `points allow at most two decimals, got ${show(iss.input)}` });

const positivePoints = points.refine((p) => p > 0, {
  error: (iss) => `expected a positive number, got ${show(iss.input)}`,
});

/** A condition of the model language, checked where it is used (`allowed` subjects only). */
export function conditionSchema(allowed: readonly Subject[]) {
  return z.unknown().transform((v, ctx) => {
    const errors: ConditionError[] = [];
    const parsed = parseCondition(v, allowed, [], errors);
    for (const e of errors) ctx.addIssue({ code: "custom", message: e.message, path: e.path });
    return (parsed ?? { all: [] }) as Condition;
  });
}

export const EVENT_SUBJECTS = ["property", "context"] as const satisfies readonly Subject[];
export const TRAIT_SUBJECTS = ["trait", "account"] as const satisfies readonly Subject[];
export const MQL_SUBJECTS = [
  "score",
  "grade",
  "minGrade",
  "trait",
  "account",
  "stage",
] as const satisfies readonly Subject[];

/** What a nurture segment (a sequence's entry or exit, an audience) reads: the MQL subjects and recent events. */
export const SEGMENT_SUBJECTS = [...MQL_SUBJECTS, "event"] as const satisfies readonly Subject[];

const nameList = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
  error: (iss) => `expected a name or a list of names, got ${show(iss.input)}`,
});

const matcherObject = z
  .strictObject({
    type: z
      .enum(EVENT_TYPES, {
        error: (iss) => `expected one of ${EVENT_TYPES.join(", ")}, got ${show(iss.input)}`,
      })
      .default("track"),
    event: nameList.optional(),
    name: nameList.optional(),
    where: conditionSchema(EVENT_SUBJECTS).optional(),
  })
  .superRefine((m, ctx) => {
    if (m.event !== undefined && m.type !== "track")
      ctx.addIssue({
        code: "custom",
        path: ["event"],
        message: `'event' matches track calls; a ${m.type} call has 'name'`,
      });
    if (m.name !== undefined && m.type !== "page" && m.type !== "screen")
      ctx.addIssue({ code: "custom", path: ["name"], message: "'name' matches page and screen calls" });
  });

const matcherShorthand = z
  .string()
  .min(1)
  .transform((event) => ({ type: "track" as const, event }) as z.output<typeof matcherObject>);

type MatcherOut = z.output<typeof matcherObject>;

/** `match: Demo Requested` is short for `match: { type: track, event: Demo Requested }`. */
export const matcher = dispatch((v) => (typeof v === "string" ? matcherShorthand : matcherObject));

const decayObject = z
  .strictObject({ halfLife: duration.optional(), lookback: duration.optional() })
  .superRefine((d, ctx) => {
    if ((d.halfLife === undefined) === (d.lookback === undefined))
      ctx.addIssue({ code: "custom", message: "expected exactly one of halfLife or lookback" });
  })
  .transform((d) =>
    d.halfLife !== undefined ? { halfLife: d.halfLife } : { lookback: d.lookback as number },
  );

const decayNone = z.literal("none", {
  error: (iss) => `expected 'none', { halfLife: 30d } or { lookback: 90d }, got ${show(iss.input)}`,
});

const decay = dispatch<"none" | { halfLife: number } | { lookback: number }>((v) =>
  typeof v === "object" && v !== null ? decayObject : decayNone,
);

const group = z
  .strictObject({
    description: z.string().optional(),
    decay: decay.optional(),
    cap: points.optional(),
    floor: points.optional(),
  })
  .superRefine((g, ctx) => {
    if (g.cap !== undefined && g.floor !== undefined && g.floor > g.cap)
      ctx.addIssue({
        code: "custom",
        path: ["floor"],
        message: `must not be above the cap (${g.cap}), got ${g.floor}`,
      });
  });

const rule = z
  .strictObject({
    id,
    description: z.string().optional(),
    group: id.optional(),
    match: matcher,
    points,
    once: z.boolean().optional(),
    cap: z.strictObject({ points: positivePoints, window: duration }).optional(),
    frequency: z
      .strictObject({
        count: z.number().int().min(2, { error: "expected a whole number of at least 2" }),
        window: duration,
      })
      .optional(),
    decay: decay.optional(),
  })
  .superRefine((r, ctx) => {
    if (r.cap && r.points <= 0)
      ctx.addIssue({
        code: "custom",
        path: ["cap"],
        message: "a cap limits positive points; this rule gives none",
      });
  });

const fitCase = z.strictObject({
  label: z.string().optional(),
  when: conditionSchema(TRAIT_SUBJECTS),
  points,
});

const fitRule = z
  .strictObject({
    id,
    description: z.string().optional(),
    group: id.optional(),
    when: conditionSchema(TRAIT_SUBJECTS).optional(),
    points: points.optional(),
    cases: z.array(fitCase).min(1).optional(),
  })
  .superRefine((r, ctx) => {
    const simple = r.when !== undefined || r.points !== undefined;
    if (simple && r.cases)
      ctx.addIssue({ code: "custom", message: "use either 'when' with 'points', or 'cases'" });
    else if (!r.cases && (r.when === undefined || r.points === undefined))
      ctx.addIssue({
        code: "custom",
        path: [r.when === undefined ? "when" : "points"],
        message: `is required (or use 'cases')`,
      });
  });

const gradeBound = z.number({
  error: (iss) => `expected the lowest fit score of the grade, got ${show(iss.input)}`,
});

const disqualifier = z
  .strictObject({
    id,
    description: z.string().optional(),
    mode: z.enum(["block", "terminal"], {
      error: (iss) => `expected block or terminal, got ${show(iss.input)}`,
    }),
    when: conditionSchema(TRAIT_SUBJECTS).optional(),
    match: matcher.optional(),
  })
  .superRefine((d, ctx) => {
    if ((d.when === undefined) === (d.match === undefined))
      ctx.addIssue({ code: "custom", message: "needs exactly one of 'when' (traits) or 'match' (an event)" });
    else if (d.match && d.mode === "block")
      ctx.addIssue({
        code: "custom",
        path: ["match"],
        message: "an event cannot hold; event disqualifiers are terminal",
      });
  });

/** By default a known person becomes a lead with a form, asset or webinar event. */
const DEFAULT_LEAD_EVENTS: MatcherOut[] = [
  { type: "track", event: ["Form Submitted", "Asset Downloaded", "Webinar Registered", "Webinar Attended"] },
];

export const modelSchema = z.strictObject({
  name: z
    .string({
      error: (iss) =>
        iss.input === undefined
          ? "is required: a name for the model"
          : `expected text, got ${show(iss.input)}`,
    })
    .min(1),
  version: z
    .union([z.string().min(1), z.number().int().nonnegative()], {
      error: (iss) =>
        iss.input === undefined
          ? "is required: a version such as 1 or 2026-11"
          : `expected a version such as 1 or 2026-11, got ${show(iss.input)}`,
    })
    .transform(String),
  description: z.string().optional(),
  groups: z
    .record(z.string(), group)
    .superRefine((groups, ctx) => {
      for (const name of Object.keys(groups)) {
        if (!ID_PATTERN.test(name))
          ctx.addIssue({
            code: "custom",
            path: [name],
            message: `expected a group name of lowercase letters, digits, '-' and '_', got '${name}'`,
          });
      }
    })
    .default({}),
  rules: z.array(rule).default([]),
  fit: z.array(fitRule).default([]),
  grades: z
    .strictObject({ A: gradeBound, B: gradeBound, C: gradeBound })
    .superRefine((g, ctx) => {
      if (!(g.A > g.B))
        ctx.addIssue({ code: "custom", path: ["B"], message: `must be below A (${g.A}), got ${g.B}` });
      if (!(g.B > g.C))
        ctx.addIssue({ code: "custom", path: ["C"], message: `must be below B (${g.B}), got ${g.C}` });
    })
    .default({ A: 60, B: 40, C: 20 }),
  lifecycle: z
    .strictObject({
      lead: z
        .strictObject({
          traits: z.array(z.string().min(1)).default(["email"]),
          events: z.array(matcher).default(DEFAULT_LEAD_EVENTS),
        })
        .default({ traits: ["email"], events: DEFAULT_LEAD_EVENTS }),
    })
    .default({ lead: { traits: ["email"], events: DEFAULT_LEAD_EVENTS } }),
  qualification: z.strictObject({
    mql: conditionSchema(MQL_SUBJECTS),
    handRaisers: z
      .array(z.strictObject({ id, description: z.string().optional(), match: matcher }))
      .default([]),
    disqualifiers: z.array(disqualifier).default([]),
  }),
  recycle: z
    .strictObject({
      reset: z.array(id).default(["engagement"]),
      keep: z.array(id).default([]),
      cooldown: duration.optional(),
    })
    .default({ reset: ["engagement"], keep: [] }),
});

export type ModelSpec = z.output<typeof modelSchema>;
export type MatcherSpec = z.output<typeof matcher>;
export type DecaySpec = z.output<typeof decay>;
