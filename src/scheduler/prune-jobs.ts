import type { Queryable } from "../db/database.js";

/** Finished jobs deleted per statement, so that one prune never holds many rows at once. */
const PAGE = 5_000;

/**
 * Deletes jobs that finished (done or cancelled) more than `retainMs` ago by the database's time
 * (bookkeeping, not a due time). Failed jobs are kept for an operator to see. A key is remembered
 * while its job is kept: scheduling it with `ifExists: "keep"` after that makes a new job.
 */
export async function pruneJobs(db: Queryable, retainMs: number): Promise<number> {
  let n = 0;
  for (;;) {
    const rows = await db.query(
      `delete from jobs j using (
         select workspace_id, id from jobs
          where state in ('done', 'cancelled') and finished_at < now() - $1 * interval '1 millisecond'
          limit $2 for update skip locked) old
       where j.workspace_id = old.workspace_id and j.id = old.id
       returning 1`,
      [retainMs, PAGE],
    );
    n += rows.length;
    if (rows.length < PAGE) return n;
  }
}
