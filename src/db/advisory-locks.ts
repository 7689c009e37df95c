import type { Queryable } from "./database.js";

/**
 * PostgreSQL advisory locks that let several processes share one database (PGlite has them too,
 * uncontended). Two-key locks take a namespace first, so Qualify's locks never meet anyone else's.
 */

/** Processing a workspace holds its gate shared; publishing a model and erasing a lead hold it alone. */
const WORKSPACE_GATE = 81_001;

/**
 * Holds the workspace's gate until the transaction ends: `shared` for a processing batch, `exclusive`
 * for work that must see no batch running in any process (a model publish, an erasure).
 */
export async function holdWorkspace(tx: Queryable, ws: string, mode: "shared" | "exclusive"): Promise<void> {
  const fn = mode === "shared" ? "pg_advisory_xact_lock_shared" : "pg_advisory_xact_lock";
  await tx.query(`select ${fn}($1, hashtext($2))`, [WORKSPACE_GATE, ws]);
}

/**
 * Serializes work on identities (`kind:value`) across processes until the transaction ends, so two
 * processes cannot both create a lead for the same person. Taken in one sorted pass, so two batches
 * locking overlapping sets wait for each other rather than deadlock.
 */
export async function lockIdentities(tx: Queryable, ws: string, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  await tx.query(
    `select pg_advisory_xact_lock(hashtextextended($1 || ':' || k, 81004))
     from (select distinct unnest($2::text[]) as k order by 1) keys`,
    [ws, keys],
  );
}
