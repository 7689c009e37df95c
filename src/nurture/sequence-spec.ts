import * as z from "zod";
import { loadYaml } from "../engine/model/load-yaml.js";
import { conditionSchema, duration, id, SEGMENT_SUBJECTS } from "../engine/model/model-schema.js";
import { dispatch, type FieldIssue } from "../engine/model/schema-issues.js";
import { STAGES } from "../engine/types.js";

/**
 * A nurture sequence as marketing writes it in YAML: who enters (a stage, a segment condition or an
 * event), the steps (send a template, wait, wait for an event with a timeout, branch), when a lead
 * leaves, and whether it may enter again. Pure: parsing and checking only; the runner that sends
 * and waits comes with the rest of the nurture issue.
 */

/**
 * A segment condition reads what an MQL condition reads (scores, grade, traits, the account, the
 * stage) and recent events: `{ event: Webinar Attended, within: 30d, gte: 1 }`.
 */
const segment = conditionSchema(SEGMENT_SUBJECTS);
const eventNames = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .transform((v) => (typeof v === "string" ? [v] : v));

const entrySchema = z
  .strictObject({
    /** Entering one of these stages (e.g. lead, recycled). */
    stage: z
      .union([z.enum(STAGES), z.array(z.enum(STAGES)).min(1)])
      .transform((v) => (typeof v === "string" ? [v] : v))
      .optional(),
    /** Starting to match a segment condition. */
    when: segment.optional(),
    /** A specific event. */
    event: eventNames.optional(),
  })
  .refine((e) => e.stage !== undefined || e.when !== undefined || e.event !== undefined, {
    message: "say how a lead enters: stage, when or event",
  });

/** Where a step goes: a later step's id, or `end` (the sequence is done). */
export const END = "end";
const target = z.string().min(1);

const STEP_KINDS = {
  send: z.strictObject({ id, send: z.string().min(1).describe("a template's id"), next: target.optional() }),
  wait: z.strictObject({ id, wait: duration, next: target.optional() }),
  waitFor: z.strictObject({
    id,
    waitFor: z.strictObject({ event: eventNames, timeout: duration }),
    next: target.optional(),
  }),
  // biome-ignore lint/suspicious/noThenProperty: a branch's target, as users write it in YAML
  if: z.strictObject({ id, if: segment, then: target, else: target.optional() }),
};
const ONE_OF =
  "a step is one of: { id, send: template }, { id, wait: 2d }, { id, waitFor: { event, timeout } }, { id, if, then, else }";

type Step = { [K in keyof typeof STEP_KINDS]: z.output<(typeof STEP_KINDS)[K]> }[keyof typeof STEP_KINDS];

/** A step's kind is the one of send, wait, waitFor or if that it names; its own errors then show. */
const stepSchema = dispatch<Step>((v) => {
  const kind = Object.keys(STEP_KINDS).find((k) => typeof v === "object" && v !== null && k in v);
  return (
    kind ? STEP_KINDS[kind as keyof typeof STEP_KINDS] : z.never({ error: () => ONE_OF })
  ) as z.ZodType<Step>;
});

export const sequenceSchema = z.strictObject({
  id,
  name: z.string().min(1).optional(),
  description: z.string().optional(),
  entry: entrySchema,
  /** Whether a lead that left may enter again: never, or once this long has passed. */
  reentry: z.union([z.literal("never"), z.strictObject({ after: duration })]).default("never"),
  /** Checked before every step; unsubscribing and do-not-email always end an enrollment. */
  exit: z
    .strictObject({
      /** At MQL or beyond (default true). */
      mql: z.boolean().default(true),
      disqualified: z.boolean().default(true),
      /** A hand-raise (a demo or contact request) or a reply (default true). */
      handRaiser: z.boolean().default(true),
      events: eventNames.optional(),
      when: segment.optional(),
    })
    .default({ mql: true, disqualified: true, handRaiser: true }),
  steps: z.array(stepSchema).min(1, "a sequence needs at least one step"),
});

export type SequenceSpec = z.output<typeof sequenceSchema>;
export type StepSpec = SequenceSpec["steps"][number];

/**
 * Step ids are unique (and not `end`), and a branch or a `next` goes to a step that exists and
 * comes later, or to `end`: no loops, so every enrollment finishes.
 */
function checkSteps(raw: unknown): FieldIssue[] {
  const steps = (raw as { steps?: unknown } | null)?.steps;
  if (!Array.isArray(steps)) return [];
  const issues: FieldIssue[] = [];
  const index = new Map<string, number>();
  steps.forEach((s: { id?: unknown }, i) => {
    if (typeof s?.id !== "string") return;
    if (s.id === END)
      issues.push({
        path: ["steps", i, "id"],
        message: `'${END}' is reserved: it names the end of the sequence`,
      });
    else if (index.has(s.id))
      issues.push({ path: ["steps", i, "id"], message: `step id '${s.id}' is used twice` });
    else index.set(s.id, i);
  });
  steps.forEach((s: Record<string, unknown>, i) => {
    for (const key of ["then", "else", "next"] as const) {
      const to = s?.[key];
      if (typeof to !== "string" || to === END) continue;
      const at = index.get(to);
      if (at === undefined)
        issues.push({ path: ["steps", i, key], message: `no step '${to}' (or say ${END})` });
      else if (at <= i)
        issues.push({
          path: ["steps", i, key],
          message: `'${to}' comes before this step; a sequence only jumps ahead`,
        });
    }
  });
  return issues;
}

/** Each template a step sends exists (when the caller says which do). */
function checkTemplates(raw: unknown, templates: ReadonlySet<string>): FieldIssue[] {
  const steps = (raw as { steps?: unknown } | null)?.steps;
  if (!Array.isArray(steps)) return [];
  return steps.flatMap((s: Record<string, unknown>, i) =>
    typeof s?.send === "string" && !templates.has(s.send)
      ? [
          {
            path: ["steps", i, "send"],
            message: `no template '${s.send}': save it first (qualify templates save)`,
          },
        ]
      : [],
  );
}

/**
 * Parses and checks a sequence; a bad one throws SEQUENCE_INVALID listing every error with its
 * line. With `templates`, a step that sends a template not among them is an error too.
 */
export function loadSequence(
  text: string,
  source = "sequence",
  templates?: ReadonlySet<string>,
): SequenceSpec {
  return loadYaml(text, sequenceSchema, {
    source,
    code: "SEQUENCE_INVALID",
    what: "the sequence",
    check: (raw) => [...checkSteps(raw), ...(templates ? checkTemplates(raw, templates) : [])],
  });
}

/** The templates a sequence sends, for checking that each exists when it is saved. */
export const templatesOf = (s: SequenceSpec): string[] =>
  s.steps.flatMap((step) => ("send" in step ? [step.send] : []));
