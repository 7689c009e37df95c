import type { Database, Queryable } from "./database.js";

/**
 * A table analysed less than this long ago waits, unless it has more than doubled since: as
 * autovacuum looks at a database at most once a minute, a table that changes 10 % every few
 * seconds (the leads under live load) is not analysed every few seconds, while one filling from
 * empty is analysed as it grows (its plans change with its size).
 */
const AGAIN_AFTER_S = 60;

/**
 * Refreshes the planner's statistics of the tables that changed enough since they were last
 * analysed, by PostgreSQL's own autovacuum rule (more than 50 rows plus 10 % of the table), at
 * most once a minute per table unless it has doubled since (`AGAIN_AFTER_S`). PGlite has no
 * autovacuum, and a PostgreSQL may run without it: without statistics the planner can pick a plan
 * a hundred times slower for a whole-workspace read (a backtest of 2,000 leads on PGlite: 35 s
 * before, 0.2 s after). Cheap when nothing is stale: one catalogue read. Nothing, in a
 * read-only transaction.
 */
export async function analyzeStale(q: Queryable): Promise<string[]> {
  const stale = await q.query<{ name: string }>(
    `select quote_ident(t.relname) as name from pg_stat_user_tables t join pg_class c on c.oid = t.relid
     where t.n_mod_since_analyze > 50 + 0.1 * t.n_live_tup
       and (coalesce(greatest(t.last_analyze, t.last_autoanalyze) < now() - interval '${AGAIN_AFTER_S} seconds', true)
            or t.n_live_tup > 2 * greatest(c.reltuples, 0))
       and current_setting('transaction_read_only') = 'off'
     order by t.relname`,
  );
  if (stale.length > 0) await q.query(`analyze ${stale.map((t) => t.name).join(", ")}`);
  return stale.map((t) => t.name);
}

/** Whether nothing analyses the tables by itself: PGlite, or a PostgreSQL with autovacuum off. */
export async function autovacuumOff(db: Database): Promise<boolean> {
  if (db.kind === "pglite") return true;
  const rows = await db.query<{ on: string }>("select current_setting('autovacuum') as on");
  return rows[0]?.on !== "on";
}
