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
 * Serializes work on identities (`user:…`, `anonymous:…`) across processes until the transaction
 * ends, so two processes cannot both create a lead for the same person. Taken in one sorted pass, so two batches
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

/**
 * Serializes work on accounts across processes until the transaction ends: keys name an account
 * (`g:<id>`) or a company email domain (`d:<domain>`), each held `exclusive` by a batch that may
 * write it and shared by one that reads it. A batch takes all of its keys in one pass, after its
 * identities and before its leads, in one order (by hash, exclusive first), so batches wait for
 * each other here instead of deadlocking later (see `account-cache.ts`).
 */
export async function lockAccounts(
  tx: Queryable,
  ws: string,
  keys: ReadonlyMap<string, "shared" | "exclusive">,
): Promise<void> {
  if (keys.size === 0) return;
  await tx.query(
    `select case when x then pg_advisory_xact_lock(h) else pg_advisory_xact_lock_shared(h) end
     from (select hashtextextended($1 || ':' || k, 81007) as h, x from unnest($2::text[], $3::bool[]) as t(k, x)
           order by h, x desc) keys`,
    [ws, [...keys.keys()], [...keys.values()].map((m) => m === "exclusive")],
  );
}

/** Held shared by a transaction that writes no events (`settled-events.ts`, `writesNoEvents`). */
export const NO_EVENTS = 81_006;

/** Events fall into this many partitions (migration 003 computes `events.partition` modulo it). */
export const PARTITIONS = 64;
const PARTITION = 81_002;
const MEMBER = 81_003;

/** Marks the session as a processing process, for as long as it lasts (see `countProcessing`). */
export async function joinProcessing(session: Queryable, member: number): Promise<void> {
  await session.query("select pg_advisory_lock($1, $2)", [MEMBER, member]);
}

/** How many processing processes are connected to this database now. */
export async function countProcessing(session: Queryable): Promise<number> {
  const rows = await session.query<{ n: number }>(
    `select count(*)::int as n from pg_locks
     where locktype = 'advisory' and classid = $1 and objsubid = 2 and granted
       and database = (select oid from pg_database where datname = current_database())`,
    [MEMBER],
  );
  return rows[0]?.n ?? 1;
}

/**
 * Takes up to `max` of the partitions offered that no other process holds, trying them in the order
 * given (the scan stops at `max`); returns those taken.
 */
export async function leasePartitions(session: Queryable, offered: number[], max: number): Promise<number[]> {
  if (max <= 0 || offered.length === 0) return [];
  const rows = await session.query<{ p: number }>(
    "select p from unnest($2::int[]) as p where pg_try_advisory_lock($1, p) limit $3",
    [PARTITION, offered, max],
  );
  return rows.map((r) => r.p);
}

export async function releasePartitions(session: Queryable, partitions: number[]): Promise<void> {
  if (partitions.length === 0) return;
  await session.query("select pg_advisory_unlock($1, p) from unnest($2::int[]) p", [PARTITION, partitions]);
}
