import { randomBytes } from "node:crypto";
import type { Queryable } from "../../db/database.js";
import { QualifyError } from "../../errors.js";

/**
 * Webhook subscriptions: where notifications go (a URL, or email to the lead's owner), which event
 * types, in which format, signed with which secret. The SQL of `webhook_subscriptions` lives here.
 */

/** Every event type a subscription may ask for: the outbox topics. */
export const EVENT_TYPES = [
  "lead.mql",
  "lead.merged",
  "lead.stage_changed",
  "lead.score_changed",
  "handoff.assigned",
  "handoff.accepted",
  "handoff.rejected",
  "handoff.breached",
  "handoff.converted",
  "handoff.opportunity",
  "handoff.won",
  "handoff.lost",
  "audience.joined",
  "audience.left",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const SCORE_CHANGED = "lead.score_changed";

export type SubscriptionKind = "webhook" | "email";
export type Format = "json" | "slack";

export interface Subscription {
  id: string;
  name: string | null;
  kind: SubscriptionKind;
  url: string | null;
  emailTo: string[] | null;
  events: string[];
  format: Format;
  secret: string;
  minScoreDelta: number | null;
  scoreGroup: string | null;
  active: boolean;
  disabledReason: string | null;
  createdBy: string | null;
  createdAt: number;
  updatedAt: number;
}

interface SubscriptionRow {
  workspace_id: string;
  id: string;
  name: string | null;
  kind: SubscriptionKind;
  url: string | null;
  email_to: string[] | null;
  events: string[];
  format: Format;
  secret: string;
  min_score_delta: string | number | null;
  score_group: string | null;
  active: boolean;
  disabled_reason: string | null;
  created_by: string | null;
  created_at: number;
  updated_at: number;
}

const fromRow = (r: SubscriptionRow): Subscription => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  url: r.url,
  emailTo: r.email_to,
  events: r.events,
  format: r.format,
  secret: r.secret,
  minScoreDelta: r.min_score_delta === null ? null : Number(r.min_score_delta),
  scoreGroup: r.score_group,
  active: r.active,
  disabledReason: r.disabled_reason,
  createdBy: r.created_by,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

/** A subscription as the API shows it: never its secret (shown once, when made or rotated). */
export function subscriptionJson(s: Subscription) {
  return {
    id: s.id,
    name: s.name,
    kind: s.kind,
    url: s.url,
    emailTo: s.emailTo,
    events: s.events,
    format: s.format,
    minScoreDelta: s.minScoreDelta,
    scoreGroup: s.scoreGroup,
    active: s.active,
    disabledReason: s.disabledReason,
    createdBy: s.createdBy,
    createdAt: new Date(s.createdAt).toISOString(),
    updatedAt: new Date(s.updatedAt).toISOString(),
  };
}

export const newSecret = () => `whsec_${randomBytes(24).toString("base64url")}`;
const newId = () => `wh_${randomBytes(9).toString("base64url")}`;

const invalid = (path: string, message: string) =>
  new QualifyError("INPUT_INVALID", `${path}: ${message}`, [{ path, message }]);

export interface SubscriptionInput {
  name?: string | null | undefined;
  kind?: SubscriptionKind | undefined;
  url?: string | null | undefined;
  emailTo?: string[] | null | undefined;
  events?: string[] | undefined;
  format?: Format | undefined;
  secret?: string | undefined;
  minScoreDelta?: number | null | undefined;
  scoreGroup?: string | null | undefined;
  active?: boolean | undefined;
}

function checkUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalid("url", `not a URL: ${JSON.stringify(url)}`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw invalid("url", `expected an http(s) URL, got ${u.protocol}`);
}

/** The rules every subscription keeps, checked on the merged result of a create or update. */
function check(s: Subscription): void {
  if (s.events.length === 0) throw invalid("events", "name at least one event type");
  for (const [i, e] of s.events.entries())
    if (!(EVENT_TYPES as readonly string[]).includes(e))
      throw invalid(`events[${i}]`, `unknown event type '${e}'; one of ${EVENT_TYPES.join(", ")}`);
  if (new Set(s.events).size !== s.events.length) throw invalid("events", "an event type is named twice");
  if (s.kind === "webhook") {
    if (!s.url) throw invalid("url", "a webhook needs a url");
    checkUrl(s.url);
  } else if (s.url) throw invalid("url", "an email subscription has no url (it mails the lead's owner)");
  for (const [i, to] of (s.emailTo ?? []).entries())
    if (!/^[^\s@]+@[^\s@]+$/.test(to)) throw invalid(`emailTo[${i}]`, `not an email address: '${to}'`);
  if (s.emailTo && s.kind !== "email") throw invalid("emailTo", "only an email subscription has emailTo");
  if (s.minScoreDelta !== null && (!Number.isFinite(s.minScoreDelta) || s.minScoreDelta < 0))
    throw invalid("minScoreDelta", "expected a number ≥ 0");
  if ((s.minScoreDelta !== null || s.scoreGroup !== null) && !s.events.includes(SCORE_CHANGED))
    throw invalid("minScoreDelta", `only for subscriptions to ${SCORE_CHANGED}`);
  if (s.secret.length < 16) throw invalid("secret", "at least 16 characters");
}

const COLUMNS = `id, name, kind, url, email_to, events, format, secret, min_score_delta, score_group, active,
  disabled_reason, created_by, created_at, updated_at`;

/** Writes the subscription whole: a new one, or the new state of one (its creation stays). */
async function save(db: Queryable, ws: string, s: Subscription): Promise<void> {
  await db.query(
    `insert into webhook_subscriptions (workspace_id, ${COLUMNS})
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
     on conflict (workspace_id, id) do update set name = excluded.name, url = excluded.url,
       email_to = excluded.email_to, events = excluded.events, format = excluded.format,
       secret = excluded.secret, min_score_delta = excluded.min_score_delta, score_group = excluded.score_group,
       active = excluded.active, disabled_reason = excluded.disabled_reason, updated_at = excluded.updated_at`,
    [
      ws,
      s.id,
      s.name,
      s.kind,
      s.url,
      s.emailTo,
      s.events,
      s.format,
      s.secret,
      s.minScoreDelta,
      s.scoreGroup,
      s.active,
      s.disabledReason,
      s.createdBy,
      s.createdAt,
      s.updatedAt,
    ],
  );
}

export async function createSubscription(
  db: Queryable,
  ws: string,
  input: SubscriptionInput,
  by: string | null,
  now: number,
): Promise<Subscription> {
  const s: Subscription = {
    id: newId(),
    name: input.name ?? null,
    kind: input.kind ?? "webhook",
    url: input.url ?? null,
    emailTo: input.emailTo && input.emailTo.length > 0 ? input.emailTo : null,
    events: input.events ?? [],
    format: input.format ?? "json",
    secret: input.secret ?? newSecret(),
    minScoreDelta: input.minScoreDelta ?? null,
    scoreGroup: input.scoreGroup ?? null,
    active: input.active ?? true,
    disabledReason: input.active === false ? "created inactive" : null,
    createdBy: by,
    createdAt: now,
    updatedAt: now,
  };
  check(s);
  await save(db, ws, s);
  return s;
}

export async function getSubscription(
  db: Queryable,
  ws: string,
  id: string,
  lock = false,
): Promise<Subscription> {
  const rows = await db.query<SubscriptionRow>(
    `select workspace_id, ${COLUMNS} from webhook_subscriptions where workspace_id = $1 and id = $2${lock ? " for update" : ""}`,
    [ws, id],
  );
  const row = rows[0];
  if (!row)
    throw new QualifyError("NOT_FOUND", `no webhook subscription ${id}`, [
      { path: "id", message: "not found" },
    ]);
  return fromRow(row);
}

export async function listSubscriptions(db: Queryable, ws: string): Promise<Subscription[]> {
  const rows = await db.query<SubscriptionRow>(
    `select workspace_id, ${COLUMNS} from webhook_subscriptions where workspace_id = $1 order by created_at, id`,
    [ws],
  );
  return rows.map(fromRow);
}

/** The active subscriptions of every workspace, by workspace (the fan-out matches against them). */
export async function activeSubscriptions(db: Queryable): Promise<Map<string, Subscription[]>> {
  const rows = await db.query<SubscriptionRow>(
    `select workspace_id, ${COLUMNS} from webhook_subscriptions where active order by workspace_id, id`,
  );
  const out = new Map<string, Subscription[]>();
  for (const r of rows) {
    const list = out.get(r.workspace_id) ?? [];
    list.push(fromRow(r));
    out.set(r.workspace_id, list);
  }
  return out;
}

export interface SubscriptionChange extends Omit<SubscriptionInput, "kind" | "secret"> {
  /** A new secret (given, or generated when true). */
  rotateSecret?: boolean | string | undefined;
}

/** Changes what is given; returns the subscription and, when rotated, its new secret. */
export async function updateSubscription(
  db: Queryable,
  ws: string,
  id: string,
  change: SubscriptionChange,
  now: number,
): Promise<Subscription> {
  const s = await getSubscription(db, ws, id, true);
  const has = <K extends keyof SubscriptionChange>(k: K) => change[k] !== undefined;
  if (has("name")) s.name = change.name ?? null;
  if (has("url")) s.url = change.url ?? null;
  if (has("emailTo")) s.emailTo = change.emailTo && change.emailTo.length > 0 ? change.emailTo : null;
  if (has("events")) s.events = change.events as string[];
  if (has("format")) s.format = change.format as Format;
  if (has("minScoreDelta")) s.minScoreDelta = change.minScoreDelta ?? null;
  if (has("scoreGroup")) s.scoreGroup = change.scoreGroup ?? null;
  if (has("active") && change.active !== s.active) {
    s.active = change.active as boolean;
    s.disabledReason = s.active ? null : "disabled by a user";
  }
  if (change.rotateSecret)
    s.secret = typeof change.rotateSecret === "string" ? change.rotateSecret : newSecret();
  s.updatedAt = now;
  check(s);
  await save(db, ws, s);
  return s;
}

/** Removes the subscription with its deliveries (pending ones are not sent). */
export async function removeSubscription(db: Queryable, ws: string, id: string): Promise<void> {
  const rows = await db.query(
    "delete from webhook_subscriptions where workspace_id = $1 and id = $2 returning 1",
    [ws, id],
  );
  if (rows.length === 0)
    throw new QualifyError("NOT_FOUND", `no webhook subscription ${id}`, [
      { path: "id", message: "not found" },
    ]);
}

/** The receiver answered 410 Gone: it asks not to be called again. */
export async function disableGone(db: Queryable, ws: string, id: string, now: number): Promise<void> {
  await db.query(
    `update webhook_subscriptions set active = false, disabled_reason = $3, updated_at = $4
     where workspace_id = $1 and id = $2 and active`,
    [ws, id, "the receiver answered 410 Gone", now],
  );
}
