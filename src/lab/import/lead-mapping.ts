import * as z from "zod";
import { loadYaml } from "../../engine/model/load-yaml.js";

/**
 * The mapping of a CRM export's columns (docs/model-lab.md, `qualify import leads`): each column
 * is the lead's id, its email, its creation time, a trait, a behaviour count, an outcome or the
 * outcome's time, or ignored. Pure.
 */

export const OUTCOME_KINDS = ["converted", "opportunity", "won"] as const;
export type OutcomeKind = (typeof OUTCOME_KINDS)[number];

const name = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+$/, "letters, digits, '_', '.' and '-' only")
  .describe("the trait's name");

const column = z.union([
  z.enum(["id", "email", "createdAt", "trait", "count", "ignore"]),
  z.strictObject({ trait: name }),
  z.strictObject({ count: name }),
  z.strictObject({
    outcome: z.enum(OUTCOME_KINDS),
    yes: z.array(z.string()).min(1).optional().describe("values that mean yes (default 1, true, yes, y)"),
  }),
  z.strictObject({ outcomeTime: z.enum(OUTCOME_KINDS) }),
]);

export const leadMappingSchema = z.strictObject({
  columns: z.record(z.string(), column),
  otherColumns: z.enum(["trait", "ignore"]).default("ignore").describe("what columns not listed are"),
  missing: z.array(z.string()).default([""]).describe("cell values that mean no value"),
});

export type LeadMapping = z.infer<typeof leadMappingSchema>;

export function parseLeadMapping(text: string, source: string): LeadMapping {
  const m = loadYaml(text, leadMappingSchema, {
    source,
    code: "INPUT_INVALID",
    what: "the column mapping",
    check: (raw) => {
      const cols = (raw as { columns?: Record<string, unknown> } | null)?.columns ?? {};
      const ids = Object.entries(cols).filter(([, v]) => v === "id");
      return ids.length === 1
        ? []
        : [
            {
              path: ["columns"],
              message: ids.length === 0 ? "one column must be the id" : "only one column can be the id",
            },
          ];
    },
  });
  return m;
}

/** A trait's name from a column header: `Lead Source` → `lead_source`. */
export const snakeCase = (header: string) =>
  header
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_|_$/g, "");

/** Counts are traits under `counts.`, so a model can tell them apart (docs/model-lab.md). */
export const COUNT_PREFIX = "counts.";

export interface ImportedLead {
  /** The file line the row starts on. */
  line: number;
  userId: string;
  email?: string;
  /** Epoch ms, when the export says. */
  createdAt?: number;
  traits: Record<string, string | number | boolean>;
  outcomes: { outcome: OutcomeKind; at: number | null }[];
}

export interface RowError {
  line: number;
  column: string;
  reason: string;
}

const YES = ["1", "true", "yes", "y"];

type ColumnSpec = LeadMapping["columns"][string];
type Resolved =
  | { kind: "id" | "email" | "createdAt" | "ignore" }
  | { kind: "trait" | "count"; name: string }
  | { kind: "outcome"; outcome: OutcomeKind; yes: string[] }
  | { kind: "outcomeTime"; outcome: OutcomeKind };

/** A column's spec in one shape: traits and counts named, the values that mean yes lower-cased. */
function resolve(spec: ColumnSpec, header: string): Resolved {
  if (spec === "trait") return { kind: "trait", name: snakeCase(header) };
  if (spec === "count") return { kind: "count", name: COUNT_PREFIX + snakeCase(header) };
  if (typeof spec === "string") return { kind: spec };
  if ("trait" in spec) return { kind: "trait", name: spec.trait };
  if ("count" in spec) return { kind: "count", name: COUNT_PREFIX + spec.count };
  if ("outcome" in spec)
    return { kind: "outcome", outcome: spec.outcome, yes: (spec.yes ?? YES).map((v) => v.toLowerCase()) };
  return { kind: "outcomeTime", outcome: spec.outcomeTime };
}

/** One CSV row (by header) as a lead, or the first thing wrong with it. */
export function mapRow(
  m: LeadMapping,
  headers: readonly string[],
  cells: readonly string[],
  line: number,
): ImportedLead | RowError {
  if (cells.length !== headers.length)
    return { line, column: "(row)", reason: `has ${cells.length} cells, the header has ${headers.length}` };
  const missing = new Set(m.missing);
  const lead: ImportedLead = { line, userId: "", traits: {}, outcomes: [] };
  const outcomes = new Map<OutcomeKind, { yes: boolean; at: number | null }>();
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i] as string;
    const raw = (cells[i] as string).trim();
    const spec = resolve(m.columns[header] ?? (header === "" ? "ignore" : m.otherColumns), header);
    if (spec.kind === "ignore") continue;
    const value = missing.has(raw) ? null : raw;
    const fail = (reason: string): RowError => ({ line, column: header, reason });
    const time = () => {
      const t = value === null ? null : Date.parse(value);
      return t !== null && Number.isNaN(t) ? fail(`'${value}' is not a date`) : t;
    };
    switch (spec.kind) {
      case "id":
        if (value === null) return fail("the id is empty");
        lead.userId = value;
        break;
      case "email":
        if (value !== null) lead.email = value;
        break;
      case "createdAt": {
        const t = time();
        if (t !== null && typeof t === "object") return t;
        if (t !== null) lead.createdAt = t;
        break;
      }
      case "trait":
        if (value !== null) lead.traits[spec.name] = Number.isFinite(Number(value)) ? Number(value) : value;
        break;
      case "count": {
        if (value === null) break;
        const n = Number(value);
        if (!Number.isFinite(n) || n < 0) return fail(`'${value}' is not a count (a number ≥ 0)`);
        lead.traits[spec.name] = n;
        break;
      }
      case "outcome": {
        const o = outcomes.get(spec.outcome) ?? { yes: false, at: null };
        o.yes = value !== null && spec.yes.includes(value.toLowerCase());
        outcomes.set(spec.outcome, o);
        break;
      }
      case "outcomeTime": {
        const t = time();
        if (t !== null && typeof t === "object") return t;
        const o = outcomes.get(spec.outcome) ?? { yes: false, at: null };
        o.at = t;
        outcomes.set(spec.outcome, o);
        break;
      }
    }
  }
  for (const [outcome, o] of outcomes) if (o.yes) lead.outcomes.push({ outcome, at: o.at });
  return lead;
}

/** Dotted trait names as the nested objects an identify call carries: `counts.visits` → `{counts: {visits}}`. */
export function nestTraits(flat: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(flat)) {
    const parts = key.split(".");
    let at = out;
    for (const p of parts.slice(0, -1)) {
      if (typeof at[p] !== "object" || at[p] === null) at[p] = {};
      at = at[p] as Record<string, unknown>;
    }
    at[parts[parts.length - 1] as string] = v;
  }
  return out;
}
