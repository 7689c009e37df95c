import { randomUUID } from "node:crypto";
import type { Queryable } from "../../db/database.js";
import { arrayColumns, arrayLiteral } from "../../db/insert-rows.js";
import { QualifyError } from "../../errors.js";

/**
 * `webhook_deliveries`: one row per outbox message and matching subscription. A sender claims due
 * rows (`for update skip locked`) by giving them a lease token and moving `next_attempt_at` to the
 * lease's end, and commits that at once; the HTTP call (or email) happens outside any transaction;
 * the outcome is written only while the token still holds. A sender that died leaves rows whose
 * `next_attempt_at` then passes: they are due again, and are sent again (at least once).
 */

export type DeliveryStatus = "pending" | "delivered" | "dead";

/** What a sender needs of a subscription, read with the claim. */
export interface Target {
  id: string;
  kind: "webhook" | "email";
  url: string | null;
  format: "json" | "slack";
  secret: string;
}

export interface ClaimedDelivery {
  workspaceId: string;
  id: number;
  subscriptionId: string;
  eventId: string;
  topic: string;
  body: string;
  recipient: string | null;
  /** This attempt's number: 1 for the first. */
  attempts: number;
  windowStart: number;
  lease: string;
  target: Target;
}

interface ClaimedRow {
  workspace_id: string;
  id: number;
  subscription_id: string;
  event_id: string;
  topic: string;
  body: string;
  recipient: string | null;
  attempts: number;
  window_start: number;
  kind: "webhook" | "email";
  url: string | null;
  format: "json" | "slack";
  secret: string;
}

/**
 * Claims due deliveries of every active subscription, oldest due first, each subscription up to
 * `limit` less what this sender already holds of it (`busy`: in flight or waiting for a slot,
 * keyed by workspace and subscription id). One statement.
 *
 * The lease covers the wait for a slot: with `concurrency` sends at a time, the n-th delivery held
 * of a subscription (counting those held already) starts after at most n / concurrency timeouts,
 * so its lease ends `leaseMs` + that many timeouts from now.
 */
export async function claimDeliveries(
  db: Queryable,
  o: {
    now: number;
    leaseMs: number;
    limit: number;
    concurrency: number;
    timeoutMs: number;
    busy: readonly { workspaceId: string; id: string; inFlight: number }[];
    /** Lease tokens of claims this sender still holds: never claimed again by it, even if late. */
    held: readonly string[];
  },
): Promise<ClaimedDelivery[]> {
  const lease = randomUUID();
  const rows = await db.query<ClaimedRow>(
    `update webhook_deliveries d set lease = $2, attempts = d.attempts + 1, last_attempt_at = $1,
       next_attempt_at = $1::bigint + $3::bigint + (due.rank / $8::int) * $9::bigint
     from (
       select c.workspace_id, c.id, s.kind, s.url, s.format, s.secret,
         coalesce(b.busy, 0) + row_number() over (partition by s.workspace_id, s.id order by c.next_attempt_at, c.id) - 1
           as rank
       from webhook_subscriptions s
       left join unnest($4::text[], $5::text[], $6::int[]) as b(ws, sub, busy)
         on b.ws = s.workspace_id and b.sub = s.id
       cross join lateral (
         select workspace_id, id, next_attempt_at from webhook_deliveries
          where workspace_id = s.workspace_id and subscription_id = s.id and status = 'pending'
            and next_attempt_at <= $1 and (lease is null or lease <> all($10::text[]))
          order by next_attempt_at, id limit greatest(0, $7::int - coalesce(b.busy, 0))
          for update skip locked) c
       where s.active
     ) due
     where d.workspace_id = due.workspace_id and d.id = due.id
     returning d.workspace_id, d.id, d.subscription_id, d.event_id, d.topic, d.body, d.recipient, d.attempts,
       d.window_start, due.kind, due.url, due.format, due.secret`,
    [
      o.now,
      lease,
      o.leaseMs,
      ...arrayColumns(o.busy, [
        [(b) => b.workspaceId, "text"],
        [(b) => b.id, "text"],
        [(b) => b.inFlight, "integer"],
      ]),
      o.limit,
      o.concurrency,
      o.timeoutMs,
      arrayLiteral(o.held, "text"),
    ],
  );
  return rows
    .map((r) => ({
      workspaceId: r.workspace_id,
      id: Number(r.id),
      subscriptionId: r.subscription_id,
      eventId: r.event_id,
      topic: r.topic,
      body: r.body,
      recipient: r.recipient,
      attempts: r.attempts,
      windowStart: Number(r.window_start),
      lease,
      target: { id: r.subscription_id, kind: r.kind, url: r.url, format: r.format, secret: r.secret },
    }))
    .sort((a, b) => a.id - b.id);
}

/** What became of one attempt, ready to store. */
export interface Outcome {
  delivery: ClaimedDelivery;
  /** delivered; pending (retry at `nextAttemptAt`); dead; or released (not attempted: the sender stopped). */
  status: DeliveryStatus | "released";
  nextAttemptAt: number;
  httpStatus: number | null;
  error: string | null;
  durationMs: number | null;
  at: number;
}

/**
 * Stores outcomes, each only while its lease holds (a row keeps a lease only while pending); returns
 * how many were stored.
 */
export async function recordOutcomes(db: Queryable, outcomes: readonly Outcome[]): Promise<number> {
  if (outcomes.length === 0) return 0;
  const released = outcomes.filter((o) => o.status === "released");
  const done = outcomes.filter((o) => o.status !== "released");
  let n = 0;
  if (done.length > 0) {
    const rows = await db.query(
      `update webhook_deliveries d set status = o.status, next_attempt_at = o.next, lease = null,
         last_status = o.http, last_error = o.err, last_duration_ms = o.dur,
         delivered_at = case when o.status = 'delivered' then o.at end
       from (select unnest($1::text[]) as ws, unnest($2::bigint[]) as id, unnest($3::text[]) as lease,
                    unnest($4::text[]) as status, unnest($5::bigint[]) as next, unnest($6::int[]) as http,
                    unnest($7::text[]) as err, unnest($8::int[]) as dur, unnest($9::bigint[]) as at) o
       where d.workspace_id = o.ws and d.id = o.id and d.lease = o.lease
       returning 1`,
      arrayColumns(done, [
        [(o) => o.delivery.workspaceId, "text"],
        [(o) => o.delivery.id, "bigint"],
        [(o) => o.delivery.lease, "text"],
        [(o) => o.status, "text"],
        [(o) => o.nextAttemptAt, "bigint"],
        [(o) => o.httpStatus, "integer"],
        [(o) => (o.error === null ? null : o.error.slice(0, 1000)), "text"],
        [(o) => (o.durationMs === null ? null : Math.round(o.durationMs)), "integer"],
        [(o) => o.at, "bigint"],
      ]),
    );
    n += rows.length;
  }
  if (released.length > 0) {
    // Given back unattempted: due again at once, and the attempt not counted.
    const rows = await db.query(
      `update webhook_deliveries d set lease = null, next_attempt_at = r.at, attempts = greatest(0, d.attempts - 1)
       from (select unnest($1::text[]) as ws, unnest($2::bigint[]) as id, unnest($3::text[]) as lease,
                    unnest($4::bigint[]) as at) r
       where d.workspace_id = r.ws and d.id = r.id and d.lease = r.lease
       returning 1`,
      arrayColumns(released, [
        [(o) => o.delivery.workspaceId, "text"],
        [(o) => o.delivery.id, "bigint"],
        [(o) => o.delivery.lease, "text"],
        [(o) => o.at, "bigint"],
      ]),
    );
    n += rows.length;
  }
  return n;
}

// --- operations: list, show, retry ----------------------------------------------------------------

interface DeliveryRow {
  id: number;
  subscription_id: string;
  outbox_seq: number | null;
  event_id: string;
  topic: string;
  lead_id: string | null;
  recipient: string | null;
  status: DeliveryStatus;
  attempts: number;
  created_at: number;
  window_start: number;
  next_attempt_at: number;
  lease: string | null;
  last_attempt_at: number | null;
  last_status: number | null;
  last_error: string | null;
  last_duration_ms: number | null;
  delivered_at: number | null;
  body?: string;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

export function deliveryJson(r: DeliveryRow, retryWindowMs: number) {
  return {
    id: Number(r.id),
    subscriptionId: r.subscription_id,
    eventId: r.event_id,
    type: r.topic,
    leadId: r.lead_id,
    recipient: r.recipient,
    status: r.status,
    /** An attempt is in flight: `nextAttemptAt` is when its lease ends. */
    inFlight: r.status === "pending" && r.lease !== null,
    attempts: r.attempts,
    createdAt: iso(r.created_at),
    lastAttemptAt: iso(r.last_attempt_at),
    lastStatus: r.last_status,
    lastError: r.last_error,
    lastDurationMs: r.last_duration_ms,
    nextAttemptAt: r.status === "pending" ? iso(r.next_attempt_at) : null,
    retryUntil: r.status === "pending" ? iso(Number(r.window_start) + retryWindowMs) : null,
    deliveredAt: iso(r.delivered_at),
    ...(r.body === undefined ? {} : { body: r.body }),
  };
}

const DELIVERY_COLUMNS = `id, subscription_id, outbox_seq, event_id, topic, lead_id, recipient, status, attempts,
  created_at, window_start, next_attempt_at, lease, last_attempt_at, last_status, last_error, last_duration_ms,
  delivered_at`;

export interface DeliveryFilter {
  subscriptionId?: string | undefined;
  status?: DeliveryStatus[] | undefined;
  eventId?: string | undefined;
  leadId?: string | undefined;
  limit: number;
  /** The nextCursor of the page before: deliveries with a smaller id. */
  cursor?: string | undefined;
}

/** Deliveries, newest first. */
export async function listDeliveries(db: Queryable, ws: string, f: DeliveryFilter, retryWindowMs: number) {
  const params: unknown[] = [ws];
  const where = ["workspace_id = $1"];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (f.subscriptionId !== undefined) where.push(`subscription_id = ${p(f.subscriptionId)}`);
  if (f.status !== undefined && f.status.length > 0) where.push(`status = any(${p(f.status)}::text[])`);
  if (f.eventId !== undefined) where.push(`event_id = ${p(f.eventId)}`);
  if (f.leadId !== undefined) where.push(`lead_id = ${p(f.leadId)}`);
  if (f.cursor !== undefined) {
    const c = Number(f.cursor);
    if (!Number.isInteger(c))
      throw new QualifyError("INPUT_INVALID", "cursor is not one this API returned", [
        { path: "cursor", message: "malformed" },
      ]);
    where.push(`id < ${p(c)}`);
  }
  const rows = await db.query<DeliveryRow>(
    `select ${DELIVERY_COLUMNS} from webhook_deliveries where ${where.join(" and ")} order by id desc limit ${p(f.limit + 1)}`,
    params,
  );
  const page = rows.slice(0, f.limit);
  const last = page[page.length - 1];
  return {
    deliveries: page.map((r) => deliveryJson(r, retryWindowMs)),
    nextCursor: rows.length > f.limit && last ? String(last.id) : null,
  };
}

export async function getDelivery(db: Queryable, ws: string, id: number, retryWindowMs: number) {
  const rows = await db.query<DeliveryRow>(
    `select ${DELIVERY_COLUMNS}, body from webhook_deliveries where workspace_id = $1 and id = $2`,
    [ws, id],
  );
  const row = rows[0];
  if (!row) throw new QualifyError("NOT_FOUND", `no delivery ${id}`, [{ path: "id", message: "not found" }]);
  return deliveryJson(row, retryWindowMs);
}

/**
 * Sends a dead (or still pending) delivery again now, with a fresh retry window. A delivered one
 * is a conflict: its receiver has it.
 */
export async function retryDelivery(
  db: Queryable,
  ws: string,
  id: number,
  now: number,
  retryWindowMs: number,
) {
  const rows = await db.query<DeliveryRow>(
    `update webhook_deliveries set status = 'pending', next_attempt_at = $3, window_start = $3, lease = null
     where workspace_id = $1 and id = $2 and status in ('dead', 'pending')
     returning ${DELIVERY_COLUMNS}`,
    [ws, id, now],
  );
  const row = rows[0];
  if (row) return deliveryJson(row, retryWindowMs);
  await getDelivery(db, ws, id, retryWindowMs);
  throw new QualifyError("CONFLICT", `delivery ${id} was delivered already; there is nothing to retry`);
}

/** Sends every dead delivery of a subscription again now; returns how many. */
export async function retryDead(
  db: Queryable,
  ws: string,
  subscriptionId: string,
  now: number,
): Promise<number> {
  const rows = await db.query(
    `update webhook_deliveries set status = 'pending', next_attempt_at = $3, window_start = $3, lease = null
     where workspace_id = $1 and subscription_id = $2 and status = 'dead'
     returning 1`,
    [ws, subscriptionId, now],
  );
  return rows.length;
}

/** Deletes deliveries delivered before `before` (service clock), a page at a time. */
export async function pruneDelivered(db: Queryable, before: number): Promise<number> {
  let n = 0;
  for (;;) {
    const rows = await db.query(
      `delete from webhook_deliveries d using (
         select workspace_id, id from webhook_deliveries
          where status = 'delivered' and delivered_at < $1 limit 5000 for update skip locked) old
       where d.workspace_id = old.workspace_id and d.id = old.id
       returning 1`,
      [before],
    );
    n += rows.length;
    if (rows.length < 5000) return n;
  }
}
