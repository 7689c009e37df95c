import { randomBytes } from "node:crypto";
import type { Queryable } from "../db/database.js";
import { writeOutbox } from "../db/outbox.js";

/**
 * What every change of audience membership shares: the workspace's membership gate, and the outbox
 * message (`audience.joined`, `audience.left`) that webhook delivery sends on.
 *
 * The gate: syncing leads holds it shared (batches in several processes sync at once), while a
 * rebuild page or a delete holds it alone, so a rebuild never writes membership from a lead it read
 * before a concurrent batch changed and synced it. Taken first in its transaction, held to its end.
 */

const MEMBERSHIP_GATE = 81_031;

export const AUDIENCE_JOINED = "audience.joined";
export const AUDIENCE_LEFT = "audience.left";

export async function holdMembership(tx: Queryable, ws: string, mode: "shared" | "exclusive"): Promise<void> {
  const fn = mode === "shared" ? "pg_advisory_xact_lock_shared" : "pg_advisory_xact_lock";
  await tx.query(`select ${fn}(hashtext($1), $2)`, [ws, MEMBERSHIP_GATE]);
}

export interface MembershipChange {
  kind: "joined" | "left";
  audienceId: string;
  audienceVersion: number;
  leadId: string;
  userId: string | null;
  email: string | null;
}

/**
 * One outbox message per change. The key is unique per change (a lead may leave and join again in
 * the same millisecond); a retried transaction recomputes its changes, so nothing is written twice.
 */
export async function writeChanges(
  tx: Queryable,
  ws: string,
  changes: readonly MembershipChange[],
  now: number,
): Promise<void> {
  if (changes.length === 0) return;
  const at = new Date(now).toISOString();
  const nonce = randomBytes(6).toString("hex");
  await writeOutbox(
    tx,
    ws,
    changes.map((c, i) => ({
      topic: c.kind === "joined" ? AUDIENCE_JOINED : AUDIENCE_LEFT,
      leadId: c.leadId,
      payload: {
        audienceId: c.audienceId,
        audienceVersion: c.audienceVersion,
        leadId: c.leadId,
        userId: c.userId,
        email: c.email,
        at,
      },
      key: `audience:${c.audienceId}:${c.leadId}:${c.kind}:${now}:${nonce}-${i}`,
    })),
  );
}
