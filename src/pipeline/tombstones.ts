import { createHash } from "node:crypto";
import type { Queryable } from "../db/database.js";
import type { Input } from "../engine/index.js";

/**
 * Erased leads leave tombstones: SHA-256 hashes of their userIds, anonymousIds and email, so that a
 * retry or a late event cannot recreate the lead, and nothing readable is kept.
 */
export type TombstoneKind = "user" | "anonymous" | "email";

export const hashIdentifier = (kind: TombstoneKind, value: string) =>
  createHash("sha256")
    .update(`${kind}:${kind === "email" ? value.trim().toLowerCase() : value}`)
    .digest("hex");

export async function addTombstones(
  db: Queryable,
  ws: string,
  ids: [TombstoneKind, string][],
): Promise<void> {
  for (const [kind, value] of ids)
    await db.query(
      "insert into tombstones (workspace_id, kind, hash) values ($1, $2, $3) on conflict do nothing",
      [ws, kind, hashIdentifier(kind, value)],
    );
}

/** Whether workspace $1 has erased anyone: only then are a batch's events checked one by one. */
export const ANY_TOMBSTONES_SQL = "exists (select 1 from tombstones where workspace_id = $1)";

/** True when the event names an erased identity. */
export async function isTombstoned(
  db: Queryable,
  ws: string,
  e: { user_id: string | null; anonymous_id: string | null; previous_id: string | null; input: Input },
): Promise<boolean> {
  const ids: [TombstoneKind, string][] = [];
  if (e.user_id !== null) ids.push(["user", e.user_id]);
  if (e.anonymous_id !== null) ids.push(["anonymous", e.anonymous_id]);
  if (e.previous_id !== null) ids.push(["user", e.previous_id], ["anonymous", e.previous_id]);
  const email = e.input.kind === "event" ? e.input.traits?.email : undefined;
  if (typeof email === "string") ids.push(["email", email]);
  if (ids.length === 0) return false;
  const rows = await db.query("select 1 from tombstones where workspace_id = $1 and hash = any($2) limit 1", [
    ws,
    ids.map(([kind, value]) => hashIdentifier(kind, value)),
  ]);
  return rows.length > 0;
}
