import type { Queryable } from "../db/database.js";
import { type ClaimedJob, type Job, type JobRow, jobColumns, toJob } from "./jobs-table.js";

/**
 * In the transaction that runs the handler: locks the job's row, if this runner's claim still
 * holds, and returns the job as stored; null when the claim is gone (the job was rescheduled or
 * cancelled, or taken back after the lease ran out). The lock is held until the transaction ends,
 * so no other runner can take the job while its handler runs, however long it takes.
 */
export async function lockClaimed(tx: Queryable, claim: ClaimedJob): Promise<Job | null> {
  const rows = await tx.query<JobRow>(
    `select ${jobColumns("j")} from jobs j
     where j.workspace_id = $1 and j.id = $2 and j.state = 'running' and j.lease = $3
     for update`,
    [claim.workspaceId, claim.id, claim.lease],
  );
  const row = rows[0];
  return row ? toJob(row) : null;
}

/**
 * `lockClaimed` for many claims at once (a batch handler's jobs), in id order so that two runners
 * never wait on each other crosswise; the jobs whose claim still holds, as stored.
 */
export async function lockClaimedMany(tx: Queryable, claims: readonly ClaimedJob[]): Promise<Job[]> {
  const rows = await tx.query<JobRow>(
    `select ${jobColumns("j")} from jobs j
     join (select unnest($1::text[]) as ws, unnest($2::bigint[]) as id, unnest($3::text[]) as lease) c
       on j.workspace_id = c.ws and j.id = c.id and j.lease = c.lease
     where j.state = 'running' order by j.id
     for update of j`,
    [claims.map((c) => c.workspaceId), claims.map((c) => c.id), claims.map((c) => c.lease)],
  );
  return rows.map(toJob);
}

/** `completeJob` for many claims, in one statement. */
export async function completeJobs(tx: Queryable, claims: readonly ClaimedJob[]): Promise<void> {
  if (claims.length === 0) return;
  await tx.query(
    `update jobs j set state = 'done', lease = null, locked_until = null, last_error = null, finished_at = now()
     from (select unnest($1::text[]) as ws, unnest($2::bigint[]) as id, unnest($3::text[]) as lease) c
     where j.workspace_id = c.ws and j.id = c.id and j.lease = c.lease`,
    [claims.map((c) => c.workspaceId), claims.map((c) => c.id), claims.map((c) => c.lease)],
  );
}

/**
 * Marks the job done, in the handler's transaction. A handler that rescheduled its own job has
 * taken the claim away, and the job stays scheduled.
 */
export async function completeJob(tx: Queryable, claim: ClaimedJob): Promise<void> {
  await tx.query(
    `update jobs set state = 'done', lease = null, locked_until = null, last_error = null, finished_at = now()
     where workspace_id = $1 and id = $2 and lease = $3`,
    [claim.workspaceId, claim.id, claim.lease],
  );
}

/**
 * After a handler failed (its transaction rolled back): the job is due again at `retryAt`, or
 * `failed` when that was its last attempt. Returns which, or `lost` when the claim was gone.
 */
export async function failJob(
  db: Queryable,
  claim: ClaimedJob,
  error: string,
  retryAt: number,
): Promise<"retry" | "failed" | "lost"> {
  const rows = await db.query<{ state: "scheduled" | "failed" }>(
    `update jobs set last_error = $4, lease = null, locked_until = null,
       state = case when attempts >= max_attempts then 'failed' else 'scheduled' end,
       run_at = case when attempts >= max_attempts then run_at else $5 end,
       finished_at = case when attempts >= max_attempts then now() end
     where workspace_id = $1 and id = $2 and lease = $3
     returning state`,
    [claim.workspaceId, claim.id, claim.lease, error, retryAt],
  );
  const state = rows[0]?.state;
  return state === undefined ? "lost" : state === "failed" ? "failed" : "retry";
}
