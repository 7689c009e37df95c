import { randomUUID } from "node:crypto";
import type { Queryable } from "../db/database.js";
import { type ClaimedJob, type JobRow, jobColumns, toJob } from "./jobs-table.js";

/** `last_error` of a job taken back from a runner that stopped mid-job. */
export const LEASE_RAN_OUT = "its runner stopped before finishing it (the lease ran out)";

export interface ClaimOptions {
  /** The runner's clock: jobs due at or before it, and leases that ended by it, are taken. */
  now: number;
  /** Only jobs of these kinds: the ones this runner has handlers for. */
  kinds: readonly string[];
  limit: number;
  /** How long the claim holds before another runner may take the job back. */
  leaseMs: number;
}

/**
 * Claims up to `limit` due jobs, in due order, and commits the claim: each becomes `running` with a
 * fresh lease token, its lease ending at `now + leaseMs`, and one more attempt counted. Rows another
 * transaction holds are skipped, never waited for.
 *
 * First, jobs whose lease ran out (their runner died between claiming and finishing) are due again
 * with their own time, so they come first; or `failed`, when that was their last attempt, so that
 * a job that kills its runner every time cannot loop forever. A job whose handler is still running
 * holds its row lock, and is skipped even with its lease over.
 */
export async function claimJobs(db: Queryable, o: ClaimOptions): Promise<ClaimedJob[]> {
  if (o.kinds.length === 0 || o.limit <= 0) return [];
  await db.query(
    `update jobs j set state = case when j.attempts >= j.max_attempts then 'failed' else 'scheduled' end,
       finished_at = case when j.attempts >= j.max_attempts then now() end,
       last_error = $3, lease = null, locked_until = null
     from (select workspace_id, id from jobs
            where state = 'running' and locked_until <= $1 and kind = any($2::text[])
            for update skip locked) x
     where j.workspace_id = x.workspace_id and j.id = x.id`,
    [o.now, o.kinds, LEASE_RAN_OUT],
  );
  const rows = await db.query<JobRow>(
    `update jobs j set state = 'running', attempts = j.attempts + 1, lease = $4,
       locked_until = $1::bigint + $5::bigint
     from (select workspace_id, id from jobs
            where state = 'scheduled' and run_at <= $1 and kind = any($2::text[])
            order by run_at, id limit $3 for update skip locked) due
     where j.workspace_id = due.workspace_id and j.id = due.id
     returning ${jobColumns("j")}`,
    [o.now, o.kinds, o.limit, randomUUID(), o.leaseMs],
  );
  return rows
    .map((r) => ({ ...toJob(r), lease: r.lease as string }))
    .sort((a, b) => a.runAt - b.runAt || a.id - b.id);
}

/**
 * Gives back claimed jobs that were not run (the runner is stopping), as they were before the
 * claim, so that they run at the next poll rather than when the lease ends.
 */
export async function releaseJobs(db: Queryable, jobs: readonly ClaimedJob[]): Promise<void> {
  if (jobs.length === 0) return;
  await db.query(
    `update jobs j set state = 'scheduled', attempts = j.attempts - 1, lease = null, locked_until = null
     from (select unnest($1::text[]) as workspace_id, unnest($2::bigint[]) as id, unnest($3::text[]) as lease) r
     where j.workspace_id = r.workspace_id and j.id = r.id and j.state = 'running' and j.lease = r.lease`,
    [jobs.map((j) => j.workspaceId), jobs.map((j) => j.id), jobs.map((j) => j.lease)],
  );
}
