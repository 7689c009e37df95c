/**
 * The `jobs` table (migration 004) as the scheduler sees it. Times are epoch milliseconds from the
 * service clock.
 */

export type JobState = "scheduled" | "running" | "done" | "failed" | "cancelled";

/** A job as its handler gets it. */
export interface Job<P = unknown> {
  workspaceId: string;
  id: number;
  kind: string;
  key: string | null;
  runAt: number;
  payload: P;
  /** Claims so far, this one included: 1 on the first run. */
  attempts: number;
  maxAttempts: number;
}

/** A job this runner claimed: `lease` is the claim's token, which every later write checks. */
export interface ClaimedJob extends Job {
  lease: string;
}

export interface JobRow {
  workspace_id: string;
  id: number;
  kind: string;
  key: string | null;
  run_at: number;
  payload: unknown;
  attempts: number;
  max_attempts: number;
  lease: string | null;
}

/** The columns `JobRow` reads, qualified by the table's alias. */
export const jobColumns = (alias: string) =>
  ["workspace_id", "id", "kind", "key", "run_at", "payload", "attempts", "max_attempts", "lease"]
    .map((c) => `${alias}.${c}`)
    .join(", ");

export function toJob(r: JobRow): Job {
  return {
    workspaceId: r.workspace_id,
    id: r.id,
    kind: r.kind,
    key: r.key,
    runAt: r.run_at,
    payload: r.payload,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
  };
}

/** Jobs grouped by their workspace, in their order: for a batch handler whose work is per workspace. */
export function jobsByWorkspace<P>(jobs: readonly Job<P>[]): Map<string, Job<P>[]> {
  const out = new Map<string, Job<P>[]>();
  for (const j of jobs) {
    const list = out.get(j.workspaceId);
    if (list) list.push(j);
    else out.set(j.workspaceId, [j]);
  }
  return out;
}
