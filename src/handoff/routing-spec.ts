import * as z from "zod";
import type { Condition, Subject } from "../engine/model/condition.js";
import { loadYaml } from "../engine/model/load-yaml.js";
import { conditionSchema } from "../engine/model/model-schema.js";
import type { FieldIssue } from "../engine/model/schema-issues.js";
import {
  type BusinessCalendar,
  businessCalendarSchema,
  compileCalendar,
  type Sla,
  slaSchema,
} from "./business-calendar.js";

/**
 * The routing document, written in YAML and stored with versions: the sales teams (their business
 * calendars and SLAs), the rules that give an MQL to a team, the fallback queue, and the rejection
 * reasons with what each does to the lead. docs/routing.md documents it with examples.
 */

/** What a routing condition may read: the lead's traits, its account, its scores and grade. */
export const ROUTING_SUBJECTS = [
  "trait",
  "account",
  "score",
  "grade",
  "minGrade",
] as const satisfies readonly Subject[];

export const PICKS = ["round-robin", "least-load"] as const;
export type Pick = (typeof PICKS)[number];

const id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]*$/, "use lower-case letters, digits, '-' and '_' (e.g. enterprise-emea)");

const teamSchema = businessCalendarSchema.safeExtend({
  name: z.string().min(1).optional(),
  /** Who picks within the team unless a rule says otherwise. */
  pick: z.enum(PICKS).default("round-robin"),
  /** On a breach: tell (escalation notification) or also reassign to the next owner in the team. */
  onBreach: z.enum(["notify", "reassign"]).default("notify"),
});

const ruleSchema = z.strictObject({
  id,
  description: z.string().optional(),
  /** Leads matching this go to `team`; no `when` matches every lead. */
  when: conditionSchema(ROUTING_SUBJECTS).optional(),
  team: id,
  pick: z.enum(PICKS).optional(),
  sla: slaSchema.optional(),
  handRaiserSla: slaSchema.optional(),
});

const DISPOSITIONS = ["recycle", "disqualify"] as const;
export type Disposition = (typeof DISPOSITIONS)[number];

export const DEFAULT_REJECTION_REASONS: Record<string, Disposition> = {
  "bad contact data": "disqualify",
  "not a buyer": "disqualify",
  "no budget": "recycle",
  "bad timing": "recycle",
  competitor: "disqualify",
  "already in contact": "recycle",
};

export const routingSchema = z.strictObject({
  description: z.string().optional(),
  teams: z.record(id, teamSchema).refine((t) => Object.keys(t).length > 0, "define at least one team"),
  /**
   * Leads of an account that has an owner go to that owner first (customer accounts included), so
   * that one rep works an account and new-business reps do not cold-call customers.
   */
  accountOwners: z.boolean().default(true),
  rules: z.array(ruleSchema).default([]),
  /** The queue for leads no rule takes, or whose team has nobody free. */
  fallback: z.strictObject({ team: id, pick: z.enum(PICKS).optional() }),
  /** Rejection reasons sales may give, each mapped to what happens to the lead. */
  rejectionReasons: z.record(z.string().min(1), z.enum(DISPOSITIONS)).default(DEFAULT_REJECTION_REASONS),
});

export type RoutingSpec = z.output<typeof routingSchema>;

/** Rules and the fallback name teams; rule ids are unique. */
function checkRouting(raw: unknown): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (typeof raw !== "object" || raw === null) return issues;
  const doc = raw as { teams?: unknown; rules?: unknown; fallback?: { team?: unknown } };
  const teams = typeof doc.teams === "object" && doc.teams !== null ? Object.keys(doc.teams) : [];
  const known = (t: unknown) => typeof t !== "string" || teams.includes(t);
  const seen = new Set<string>();
  if (Array.isArray(doc.rules))
    doc.rules.forEach((r: { id?: unknown; team?: unknown }, i) => {
      if (!known(r?.team))
        issues.push({ path: ["rules", i, "team"], message: `no team '${String(r.team)}' in teams` });
      if (typeof r?.id === "string") {
        if (seen.has(r.id))
          issues.push({ path: ["rules", i, "id"], message: `rule id '${r.id}' is used twice` });
        seen.add(r.id);
      }
    });
  if (!known(doc.fallback?.team))
    issues.push({ path: ["fallback", "team"], message: `no team '${String(doc.fallback?.team)}' in teams` });
  return issues;
}

export interface Team {
  id: string;
  name: string;
  pick: Pick;
  onBreach: "notify" | "reassign";
  calendar: BusinessCalendar;
}

export interface RoutingRule {
  id: string;
  description?: string;
  when?: Condition;
  team: string;
  pick?: Pick;
  sla?: Sla;
  handRaiserSla?: Sla;
}

/** A routing document ready to use. */
export interface Routing {
  spec: RoutingSpec;
  teams: Map<string, Team>;
  accountOwners: boolean;
  rules: RoutingRule[];
  fallback: { team: string; pick?: Pick };
  rejectionReasons: Record<string, Disposition>;
}

export function compileRouting(spec: RoutingSpec): Routing {
  return {
    spec,
    teams: new Map(
      Object.entries(spec.teams).map(([teamId, t]) => [
        teamId,
        {
          id: teamId,
          name: t.name ?? teamId,
          pick: t.pick,
          onBreach: t.onBreach,
          calendar: compileCalendar(t),
        },
      ]),
    ),
    accountOwners: spec.accountOwners,
    rules: spec.rules,
    fallback: spec.fallback,
    rejectionReasons: spec.rejectionReasons,
  };
}

/** Parses and checks a routing document; a bad one throws ROUTING_INVALID with each problem's line. */
export function loadRouting(text: string, source = "routing"): RoutingSpec {
  return loadYaml(text, routingSchema, {
    source,
    code: "ROUTING_INVALID",
    what: "the routing",
    check: checkRouting,
  });
}
