import type { Database, Queryable } from "../db/database.js";
import { insertRows } from "../db/insert-rows.js";
import { type GenProfile, generateHistory, type HistoryOptions } from "./generate-history.js";

/**
 * Stores a generated history (`generate-history.ts`) as the pipeline would have left it: leads,
 * processed events, transitions, handoffs, and the sales reps as users. Rows go in multi-row
 * inserts, a batch of profiles at a time, so memory holds one batch.
 */

export async function writeReps(q: Queryable, ws: string, reps: HistoryOptions["reps"]): Promise<void> {
  await insertRows(
    q,
    "users",
    ["workspace_id", "id", "email", "role", "teams", "weekly_capacity"],
    reps.map((r) => [ws, r.id, `${r.id}@sales.example`, "sales", `{${r.team}}`, 40]),
    "on conflict do nothing",
  );
}

export async function writeProfiles(
  q: Queryable,
  ws: string,
  profiles: readonly GenProfile[],
): Promise<void> {
  await insertRows(
    q,
    "leads",
    [
      "workspace_id",
      "id",
      "user_id",
      "email",
      "email_domain",
      "traits",
      "stage",
      "grade",
      "first_seen_at",
      "last_event_at",
      "event_count",
      "mql_at",
      "first_mql_at",
      "owner",
    ],
    profiles.map((p) => {
      const mql = p.transitions.find((t) => t.to === "mql")?.at ?? null;
      return [
        ws,
        p.id,
        p.userId,
        p.email,
        p.email.split("@")[1],
        JSON.stringify(p.traits),
        p.stage,
        p.grade,
        p.firstSeenAt,
        p.lastEventAt,
        p.events.length,
        mql,
        mql,
        // As routing leaves it: the owner of the lead's latest handoff.
        p.handoffs[p.handoffs.length - 1]?.ownerId ?? null,
      ];
    }),
  );
  // Processing order, as the pipeline numbers it (backtests and rescoring replay in this order).
  const events = profiles.reduce((n, p) => n + p.events.length, 0);
  const order = await q.query<{ n: string }>(
    "select nextval('events_processed_order')::text as n from generate_series(1, $1::int)",
    [events],
  );
  let next = 0;
  await insertRows(
    q,
    "events",
    [
      "workspace_id",
      "message_id",
      "kind",
      "type",
      "user_id",
      "lead_id",
      "at",
      "received_at",
      "input",
      "processed",
      "processed_order",
    ],
    profiles.flatMap((p) =>
      p.events.map((e) => [
        ws,
        e.messageId,
        "event",
        e.type,
        p.userId,
        p.id,
        e.at,
        e.at,
        JSON.stringify(e.input),
        true,
        (order[next++] as { n: string }).n,
      ]),
    ),
  );
  await insertRows(
    q,
    "transitions",
    [
      "workspace_id",
      "lead_id",
      "from_stage",
      "to_stage",
      "at",
      "trigger_at",
      "input_id",
      "actor",
      "reason",
      "scores",
      "grade",
    ],
    profiles.flatMap((p) =>
      p.transitions.map((t, i) => [
        ws,
        p.id,
        t.from,
        t.to,
        t.at,
        t.at,
        `${p.id}-t${i}`,
        "engine",
        `generated history: ${t.from} → ${t.to}`,
        "{}",
        t.grade,
      ]),
    ),
  );
  await insertRows(
    q,
    "handoffs",
    [
      "workspace_id",
      "id",
      "lead_id",
      "source_key",
      "kind",
      "mql_at",
      "status",
      "owner_id",
      "team",
      "rule",
      "routing",
      "assigned_at",
      "due_at",
      "breaches",
      "acted_at",
      "reason",
      "disposition",
      "amount",
      "closed_at",
      "updated_at",
    ],
    profiles.flatMap((p) =>
      p.handoffs.map((h) => [
        ws,
        h.id,
        h.leadId,
        h.id,
        h.kind,
        h.mqlAt,
        h.status,
        h.ownerId,
        h.team,
        "generated",
        "{}",
        h.mqlAt,
        h.dueAt,
        h.breaches,
        h.actedAt,
        h.reason,
        h.disposition,
        h.amount,
        h.closedAt,
        h.closedAt ?? h.actedAt ?? h.mqlAt,
      ]),
    ),
  );
}

export interface WrittenHistory {
  profiles: number;
  events: number;
  transitions: number;
  handoffs: number;
}

/**
 * More history per profile, from another part of the product (the demo's nurture): it may add
 * events to a profile, and stores its own rows in the batch's transaction.
 */
export interface HistoryExtension {
  profile(p: GenProfile): GenProfile;
  write(tx: Queryable, profiles: readonly GenProfile[]): Promise<void>;
}

/** Generates a history and stores it, its reps included: `batch` profiles per transaction. */
export async function writeHistory(
  db: Database,
  ws: string,
  o: HistoryOptions,
  batch = 1_000,
  extension?: HistoryExtension,
): Promise<WrittenHistory> {
  await writeReps(db, ws, o.reps);
  const counts: WrittenHistory = { profiles: 0, events: 0, transitions: 0, handoffs: 0 };
  let pending: GenProfile[] = [];
  const flush = async () => {
    const b = pending;
    pending = [];
    await db.transaction(async (tx) => {
      await writeProfiles(tx, ws, b);
      await extension?.write(tx, b);
    });
  };
  for (const generated of generateHistory(o)) {
    const p = extension ? extension.profile(generated) : generated;
    counts.profiles++;
    counts.events += p.events.length;
    counts.transitions += p.transitions.length;
    counts.handoffs += p.handoffs.length;
    pending.push(p);
    if (pending.length >= batch) await flush();
  }
  if (pending.length > 0) await flush();
  return counts;
}
