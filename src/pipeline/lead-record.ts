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
 * Column by column, each lead's value as `upsertLeads` sends it: a text or number column as one
 * array literal, a JSON column as its leads' texts joined by `SEP`. Keeps a statement's text and
 * parameter count fixed whatever the number of leads (with a parameter per value, 24 a lead, the
 * statement took about half as long again: bench/README.md, `profile-processing.ts`).
 */
type Sent = "text" | "text[]" | "bigint" | "json" | "jsonb";
const SENT: Record<
  Sent,
  { array: (n: number) => string; cast: string; pack: (values: unknown[]) => string }
> = {
  text: { array: (n) => `$${n}::text[]`, cast: "", pack: (v) => arrayLiteral(v, "text") },
  // Each lead's array as a literal of its own, cast back per row.
  "text[]": { array: (n) => `$${n}::text[]`, cast: "::text[]", pack: (v) => arrayLiteral(v, "text") },
  bigint: { array: (n) => `$${n}::bigint[]`, cast: "", pack: (v) => arrayLiteral(v, "bigint") },
  // A null is sent as the empty text, which no JSON is.
  json: { array: (n) => `string_to_array($${n}, E'\\x1e', '')`, cast: "::json", pack: (v) => v.join(SEP) },
  jsonb: { array: (n) => `string_to_array($${n}, E'\\x1e', '')`, cast: "::jsonb", pack: (v) => v.join(SEP) },
};
const LEAD_COLUMNS: readonly (readonly [string, Sent, (l: LeadRecord) => unknown])[] = [
  ["id", "text", (l) => l.id],
  ["user_id", "text", (l) => l.userId],
  ["email", "text", (l) => l.email],
  ["email_domain", "text", (l) => l.emailDomain],
  ["name", "text", (l) => l.name],
  ["account_id", "text", (l) => l.accountId],
  ["account_source", "text", (l) => l.accountSource],
  ["stage", "text", (l) => l.stage],
  ["grade", "text", (l) => l.grade],
  ["owner", "text", (l) => l.owner],
  ["merged_into", "text", (l) => l.mergedInto],
  ["flags", "text[]", (l) => arrayLiteral(l.flags, "text")],
  ["traits_at", "bigint", (l) => l.traitsAt],
  ["scores_as_of", "bigint", (l) => l.scoresAsOf],
  ["mql_at", "bigint", (l) => l.mqlAt],
  ["first_mql_at", "bigint", (l) => l.firstMqlAt],
  ["model_version", "bigint", (l) => l.modelVersion],
  ["first_seen_at", "bigint", (l) => l.firstSeenAt],
  ["last_event_at", "bigint", (l) => l.lastEventAt],
  ["event_count", "bigint", (l) => l.eventCount],
  ["traits", "jsonb", (l) => JSON.stringify(l.traits)],
  ["scores", "jsonb", (l) => JSON.stringify(l.scores)],
  ["state", "json", (l) => (l.state === null ? "" : JSON.stringify(l.state))],
];

const COLUMNS = LEAD_COLUMNS.map(([c]) => c);
const UPSERT_SQL = `insert into leads (workspace_id, ${COLUMNS.join(", ")})
    select $1, ${LEAD_COLUMNS.map(([c, sent]) => `u.${c}${SENT[sent].cast}`).join(", ")}
    from unnest(${LEAD_COLUMNS.map(([, sent], i) => SENT[sent].array(i + 2)).join(", ")}) as u(${COLUMNS.join(", ")})
    on conflict (workspace_id, id) do update set
      ${COLUMNS.filter((c) => c !== "id")
        .map((c) => `${c} = excluded.${c}`)
        .join(", ")}, updated_at = now()`;

/** Inserts new leads and updates the rest, every column, in one statement. */
export async function upsertLeads(tx: Queryable, ws: string, leads: readonly LeadRecord[]): Promise<void> {
  if (leads.length === 0) return;
  await tx.query(UPSERT_SQL, [ws, ...LEAD_COLUMNS.map(([, sent, get]) => SENT[sent].pack(leads.map(get)))]);
}

/** A transition as stored: the engine's, plus who it belongs to and the model that made it. */
export interface StoredTransition extends Omit<Transition, "actor"> {
  leadId: string;
  actor: string;
  modelVersion: number;
  wouldHaveQualifiedAt?: number;
  notify: boolean;
}
