import type { Queryable } from "../db/database.js";
import { arrayLiteral, insertRows } from "../db/insert-rows.js";

export interface JobSpec {
  ws: string;
  kind: string;
  /**
   * Names the job within its workspace and kind, e.g. `sla:<handoffId>`. There is at most one job
   * per key: scheduling the key again moves that job (see `ifExists`). Without a key every call adds
   * a job.
   */
  key?: string | null;
  /** When it is due: epoch milliseconds on the service clock. */
  runAt: number;
  /** Stored as JSON; the handler gets it back. */
  payload?: unknown;
  /** Runs (claims) before a failure is final; default 10. */
  maxAttempts?: number;
  /**
   * With a key that already has a job, in any state: `reschedule` (the default) makes it due again
   * at `runAt` with this payload and its attempts reset (a job that ran, failed or was cancelled
   * runs again); `keep` leaves it as it is, so the call is idempotent.
   */
  ifExists?: "reschedule" | "keep";
}

export const DEFAULT_MAX_ATTEMPTS = 10;

/**
 * Schedules a job, inside the caller's transaction: the job exists exactly when the fact that
 * causes it commits. Returns the job's id.
 *
 * Rescheduling a running job takes the job from its runner: the run in progress either finishes
 * first (and the job is then due again) or finds its claim gone and does not run. A handler may
 * reschedule its own job this way (a repeating timer).
 */
export async function scheduleJob(tx: Queryable, job: JobSpec): Promise<number> {
  const key = job.key ?? null;
  const keep = job.ifExists === "keep";
  const rows = await tx.query<{ id: number }>(
    `insert into jobs (workspace_id, kind, key, run_at, payload, max_attempts)
     values ($1, $2, $3, $4, $5::jsonb, $6) ${onConflict(keep)} returning id`,
    jobValues(job),
  );
  const id = rows[0]?.id;
  if (id !== undefined) return id;
  // `keep`, and the key has a job already.
  const existing = await tx.query<{ id: number }>(
    "select id from jobs where workspace_id = $1 and kind = $2 and key = $3",
    [job.ws, job.kind, key],
  );
  return existing[0]?.id as number;
}

/**
 * Schedules many keyed jobs in as few statements as possible, as `scheduleJob` does one (the
 * pipeline marks every lead a batch changed this way, and routes each MQL). With `keep`, the first
 * of several jobs with one key is the one kept, as if they were scheduled one by one.
 */
export async function scheduleJobs(
  tx: Queryable,
  jobs: readonly JobSpec[],
  ifExists: JobSpec["ifExists"] = "reschedule",
): Promise<void> {
  const keep = ifExists === "keep";
  // One statement cannot touch the same key twice.
  const unique = new Map<string, JobSpec>();
  for (const j of jobs) {
    const key = `${j.ws}\n${j.kind}\n${j.key}`;
    if (!keep || !unique.has(key)) unique.set(key, j);
  }
  await insertRows(
    tx,
    "jobs",
    ["workspace_id", "kind", "key", "run_at", "payload", "max_attempts"],
    [...unique.values()].map(jobValues),
    onConflict(keep),
  );
}

const jobValues = (job: JobSpec) => [
  job.ws,
  job.kind,
  job.key ?? null,
  job.runAt,
  JSON.stringify(job.payload ?? null),
  job.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
];

const onConflict = (keep: boolean) =>
  `on conflict (workspace_id, kind, key) where key is not null do ${
    keep
      ? "nothing"
      : `update set run_at = excluded.run_at, payload = excluded.payload,
          max_attempts = excluded.max_attempts, state = 'scheduled', attempts = 0, last_error = null,
          lease = null, locked_until = null, finished_at = null`
  }`;

/**
 * Cancels the job with this key, inside the caller's transaction, unless it has finished. True
 * when there was one to cancel. A run in progress either finishes first (then this returns false)
 * or finds its claim gone and does not run.
 */
export async function cancelJob(tx: Queryable, ws: string, kind: string, key: string): Promise<boolean> {
  return (await cancelJobs(tx, ws, kind, [key])) > 0;
}

/** `cancelJob` for many keys of one kind, in one statement; returns how many it cancelled. */
export async function cancelJobs(
  tx: Queryable,
  ws: string,
  kind: string,
  keys: readonly string[],
): Promise<number> {
  if (keys.length === 0) return 0;
  const rows = await tx.query(
    `update jobs set state = 'cancelled', lease = null, locked_until = null, finished_at = now()
     where workspace_id = $1 and kind = $2 and key = any($3::text[]) and state in ('scheduled', 'running')
     returning 1`,
    [ws, kind, arrayLiteral(keys, "text")],
  );
  return rows.length;
}
