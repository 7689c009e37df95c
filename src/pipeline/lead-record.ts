import type { Queryable } from "../db/database.js";
import { arrayLiteral, SEP } from "../db/insert-rows.js";
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

/**
 * Column by column, each lead's value as `upsertLeads` sends it: text columns and numbers as one
 * array literal each, the JSON columns as their texts joined by `SEP`. Keeps a statement's text
 * and parameter count fixed whatever the number of leads (with a parameter per value, 24 a lead,
 * the statement took about half as long again: bench/README.md, `profile-processing.ts`).
 */
const TEXT_COLUMNS = [
  ["id", (l) => l.id],
  ["user_id", (l) => l.userId],
  ["email", (l) => l.email],
  ["email_domain", (l) => l.emailDomain],
  ["name", (l) => l.name],
  ["account_id", (l) => l.accountId],
  ["account_source", (l) => l.accountSource],
  ["stage", (l) => l.stage],
  ["grade", (l) => l.grade],
  ["owner", (l) => l.owner],
  ["merged_into", (l) => l.mergedInto],
  // Each lead's flags as an array literal of their own, cast back per row.
  ["flags", (l) => arrayLiteral(l.flags, "text")],
] as const satisfies readonly (readonly [string, (l: LeadRecord) => unknown])[];
const NUMBER_COLUMNS = [
  ["traits_at", (l) => l.traitsAt],
  ["scores_as_of", (l) => l.scoresAsOf],
  ["mql_at", (l) => l.mqlAt],
  ["first_mql_at", (l) => l.firstMqlAt],
  ["model_version", (l) => l.modelVersion],
  ["first_seen_at", (l) => l.firstSeenAt],
  ["last_event_at", (l) => l.lastEventAt],
  ["event_count", (l) => l.eventCount],
] as const satisfies readonly (readonly [string, (l: LeadRecord) => unknown])[];
/** JSON columns; a null state is sent as the empty text, which no JSON is. */
const JSON_COLUMNS = [
  ["traits", "jsonb", (l) => JSON.stringify(l.traits)],
  ["scores", "jsonb", (l) => JSON.stringify(l.scores)],
  ["state", "json", (l) => (l.state === null ? "" : JSON.stringify(l.state))],
] as const satisfies readonly (readonly [string, string, (l: LeadRecord) => string])[];

const COLUMNS = [...TEXT_COLUMNS, ...NUMBER_COLUMNS, ...JSON_COLUMNS].map((c) => c[0]);
const UPSERT_SQL = (() => {
  let n = 1;
  const arrays = [
    ...TEXT_COLUMNS.map(() => `$${++n}::text[]`),
    ...NUMBER_COLUMNS.map(() => `$${++n}::bigint[]`),
    ...JSON_COLUMNS.map(() => `string_to_array($${++n}, E'\\x1e', '')`),
  ];
  const values = [
    ...TEXT_COLUMNS.map(([c]) => (c === "flags" ? "u.flags::text[]" : `u.${c}`)),
    ...NUMBER_COLUMNS.map(([c]) => `u.${c}`),
    ...JSON_COLUMNS.map(([c, type]) => `u.${c}::${type}`),
  ];
  return `insert into leads (workspace_id, ${COLUMNS.join(", ")})
    select $1, ${values.join(", ")} from unnest(${arrays.join(", ")}) as u(${COLUMNS.join(", ")})
    on conflict (workspace_id, id) do update set
      ${COLUMNS.filter((c) => c !== "id")
        .map((c) => `${c} = excluded.${c}`)
        .join(", ")}, updated_at = now()`;
})();

/** Inserts new leads and updates the rest, every column, in one statement. */
export async function upsertLeads(tx: Queryable, ws: string, leads: readonly LeadRecord[]): Promise<void> {
  if (leads.length === 0) return;
  await tx.query(UPSERT_SQL, [
    ws,
    ...TEXT_COLUMNS.map(([, get]) => arrayLiteral(leads.map(get), "text")),
    ...NUMBER_COLUMNS.map(([, get]) => arrayLiteral(leads.map(get), "bigint")),
    ...JSON_COLUMNS.map(([, , get]) => leads.map(get).join(SEP)),
  ]);
}

/** A transition as stored: the engine's, plus who it belongs to and the model that made it. */
export interface StoredTransition extends Omit<Transition, "actor"> {
  leadId: string;
  actor: string;
  modelVersion: number;
  wouldHaveQualifiedAt?: number;
  notify: boolean;
}
