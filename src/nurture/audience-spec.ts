import * as z from "zod";
import { compileCondition, type Predicate } from "../engine/evaluate-condition.js";
import { loadYaml } from "../engine/model/load-yaml.js";
import { conditionSchema, id, SEGMENT_SUBJECTS } from "../engine/model/model-schema.js";

/**
 * A saved audience as marketing writes it in YAML: an id, a segment condition (`when`, which reads
 * what an MQL condition reads: scores, grade, traits, the account, the stage) and whether the
 * personalisation endpoint may name it (`public`). Pure: parsing, checking and compiling only.
 *
 * ```yaml
 * id: engaged-fit-not-mql
 * name: Engaged, fit B or better, not yet MQL
 * public: true
 * when:
 *   all:
 *     - { score: engagement, gte: 30 }
 *     - { minGrade: B }
 *     - { stage: [lead, recycled] }
 * ```
 */

const show = (v: unknown) => (typeof v === "string" ? `'${v}'` : (JSON.stringify(v) ?? String(v)));

export const audienceSchema = z.strictObject({
  id,
  name: z.string().min(1).optional(),
  description: z.string().optional(),
  /** Whether the personalisation endpoint may tell a website that a visitor is in it. */
  public: z.boolean({ error: (iss) => `expected true or false, got ${show(iss.input)}` }).default(false),
  /** A segment condition: scores, grade, traits, account, stage and recent events. */
  when: conditionSchema(SEGMENT_SUBJECTS),
});

export type AudienceSpec = z.output<typeof audienceSchema>;

/** Parses and checks an audience; a bad one throws AUDIENCE_INVALID listing every error with its line. */
export function loadAudience(text: string, source = "audience"): AudienceSpec {
  return loadYaml(text, audienceSchema, { source, code: "AUDIENCE_INVALID", what: "the audience" });
}

/** Whether a lead (as a condition context: see `conditionContext` in lead-view.ts) is in the audience. */
export const compileAudience = (spec: AudienceSpec): Predicate => compileCondition(spec.when);
