import type { LeadState, Transition } from "../engine/index.js";

/** A lead as the pipeline keeps it in memory while a batch runs; mirrors the `leads` table. */
export interface LeadRecord {
  id: string;
  userId: string | null;
  email: string | null;
  emailDomain: string | null;
  name: string | null;
  traits: Record<string, unknown>;
  traitsAt: number | null;
  accountId: string | null;
  accountSource: "group" | "domain" | null;
  stage: string;
  scores: Record<string, number>;
  grade: string | null;
  scoresAsOf: number | null;
  mqlAt: number | null;
  firstMqlAt: number | null;
  state: LeadState | null;
  modelVersion: number | null;
  owner: string | null;
  flags: string[];
  mergedInto: string | null;
  firstSeenAt: number;
  lastEventAt: number | null;
  eventCount: number;
}

export interface LeadRow {
  id: string;
  user_id: string | null;
  email: string | null;
  email_domain: string | null;
  name: string | null;
  traits: Record<string, unknown>;
  traits_at: number | null;
  account_id: string | null;
  account_source: "group" | "domain" | null;
  stage: string;
  scores: Record<string, number>;
  grade: string | null;
  scores_as_of: number | null;
  mql_at: number | null;
  first_mql_at: number | null;
  state: LeadState | null;
  model_version: number | null;
  owner: string | null;
  flags: string[];
  merged_into: string | null;
  first_seen_at: number;
  last_event_at: number | null;
  event_count: number;
}

export const fromRow = (r: LeadRow): LeadRecord => ({
  id: r.id,
  userId: r.user_id,
  email: r.email,
  emailDomain: r.email_domain,
  name: r.name,
  traits: r.traits,
  traitsAt: r.traits_at,
  accountId: r.account_id,
  accountSource: r.account_source,
  stage: r.stage,
  scores: r.scores,
  grade: r.grade,
  scoresAsOf: r.scores_as_of,
  mqlAt: r.mql_at,
  firstMqlAt: r.first_mql_at,
  state: r.state,
  modelVersion: r.model_version,
  owner: r.owner,
  flags: r.flags,
  mergedInto: r.merged_into,
  firstSeenAt: r.first_seen_at,
  lastEventAt: r.last_event_at,
  eventCount: r.event_count,
});

/** Columns written for a lead, in this order, by `toValues`. */
export const LEAD_COLUMNS = [
  "workspace_id",
  "id",
  "user_id",
  "email",
  "email_domain",
  "name",
  "traits",
  "traits_at",
  "account_id",
  "account_source",
  "stage",
  "scores",
  "grade",
  "scores_as_of",
  "mql_at",
  "first_mql_at",
  "state",
  "model_version",
  "owner",
  "flags",
  "merged_into",
  "first_seen_at",
  "last_event_at",
  "event_count",
] as const;

export const toValues = (ws: string, l: LeadRecord): unknown[] => [
  ws,
  l.id,
  l.userId,
  l.email,
  l.emailDomain,
  l.name,
  JSON.stringify(l.traits),
  l.traitsAt,
  l.accountId,
  l.accountSource,
  l.stage,
  JSON.stringify(l.scores),
  l.grade,
  l.scoresAsOf,
  l.mqlAt,
  l.firstMqlAt,
  l.state === null ? null : JSON.stringify(l.state),
  l.modelVersion,
  l.owner,
  l.flags,
  l.mergedInto,
  l.firstSeenAt,
  l.lastEventAt,
  l.eventCount,
];

/** A transition as stored: the engine's, plus who it belongs to and the model that made it. */
export interface StoredTransition extends Omit<Transition, "actor"> {
  leadId: string;
  actor: string;
  modelVersion: number;
  wouldHaveQualifiedAt?: number;
  notify: boolean;
}
