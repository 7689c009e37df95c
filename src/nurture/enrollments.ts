import { randomUUID } from "node:crypto";
import type { Queryable } from "../db/database.js";
import { cancelJob, scheduleJob } from "../scheduler/schedule-job.js";
import type { RunnableSequence } from "./sequence-store.js";

/**
 * Enrollments: a lead's way through one sequence version. Each active one has a `nurture.step`
 * job (key `step:<id>`) due when its current step should run; entering schedules it, leaving
 * cancels it, in the caller's transaction.
 */

export const STEP_JOB = "nurture.step";

export interface StepRecord {
  step: string;
  kind: string;
  at: number;
  outcome: string;
}

export interface Enrollment {
  id: string;
  leadId: string;
  sequenceId: string;
  sequenceVersion: number;
  status: "active" | "completed" | "exited";
  stepIndex: number;
  stepId: string | null;
  stepStartedAt: number;
  nextRunAt: number | null;
  eventSeenAt: number | null;
  history: StepRecord[];
  enteredAt: number;
  entryReason: string;
  exitedAt: number | null;
  exitReason: string | null;
}

export interface EnrollmentRow {
  id: string;
  lead_id: string;
  sequence_id: string;
  sequence_version: number;
  status: Enrollment["status"];
  step_index: number;
  step_id: string | null;
  step_started_at: number;
  next_run_at: number | null;
  event_seen_at: number | null;
  history: StepRecord[];
  entered_at: number;
  entry_reason: string;
  exited_at: number | null;
  exit_reason: string | null;
}

const num = (v: number | null) => (v === null ? null : Number(v));
export const fromEnrollmentRow = (r: EnrollmentRow): Enrollment => ({
  id: r.id,
  leadId: r.lead_id,
  sequenceId: r.sequence_id,
  sequenceVersion: r.sequence_version,
  status: r.status,
  stepIndex: r.step_index,
  stepId: r.step_id,
  stepStartedAt: Number(r.step_started_at),
  nextRunAt: num(r.next_run_at),
  eventSeenAt: num(r.event_seen_at),
  history: r.history,
  enteredAt: Number(r.entered_at),
  entryReason: r.entry_reason,
  exitedAt: num(r.exited_at),
  exitReason: r.exit_reason,
});

export async function activeEnrollments(q: Queryable, ws: string, leadId: string): Promise<Enrollment[]> {
  const rows = await q.query<EnrollmentRow>(
    "select * from enrollments where workspace_id = $1 and lead_id = $2 and status = 'active' order by entered_at",
    [ws, leadId],
  );
  return rows.map(fromEnrollmentRow);
}

/** Makes the enrollment's step job due at `at` (the step runs then). */
export async function scheduleStep(
  q: Queryable,
  ws: string,
  enrollmentId: string,
  at: number,
): Promise<void> {
  await scheduleJob(q, {
    ws,
    kind: STEP_JOB,
    key: `step:${enrollmentId}`,
    runAt: at,
    payload: { enrollmentId },
  });
  await q.query("update enrollments set next_run_at = $3 where workspace_id = $1 and id = $2", [
    ws,
    enrollmentId,
    at,
  ]);
}

/**
 * Enrolls the lead unless it may not enter again: it is in the sequence now, or it left and the
 * sequence allows no re-entry, or not yet. True when it entered.
 */
export async function enroll(
  q: Queryable,
  ws: string,
  leadId: string,
  seq: RunnableSequence,
  reason: string,
  now: number,
): Promise<boolean> {
  const last = await q.query<{ status: string; ended: number | null }>(
    `select status, coalesce(exited_at, updated_at) as ended from enrollments
     where workspace_id = $1 and lead_id = $2 and sequence_id = $3 order by entered_at desc limit 1`,
    [ws, leadId, seq.id],
  );
  const prior = last[0];
  if (prior) {
    if (prior.status === "active") return false;
    const reentry = seq.spec.reentry;
    if (reentry === "never" || Number(prior.ended) + reentry.after > now) return false;
  }
  const id = randomUUID();
  const first = seq.spec.steps[0];
  const inserted = await q.query(
    `insert into enrollments (workspace_id, id, lead_id, sequence_id, sequence_version, status, step_index, step_id,
       step_started_at, entered_at, entry_reason, updated_at)
     values ($1, $2, $3, $4, $5, 'active', 0, $6, $7, $7, $8, $7)
     on conflict (workspace_id, lead_id, sequence_id) where status = 'active' do nothing returning 1`,
    [ws, id, leadId, seq.id, seq.version, first?.id ?? null, now, reason],
  );
  if (inserted.length === 0) return false;
  await scheduleStep(q, ws, id, now);
  return true;
}

/** Ends an enrollment (exited, or completed after its last step) and cancels its step job. */
export async function endEnrollment(
  q: Queryable,
  ws: string,
  e: Pick<Enrollment, "id" | "history">,
  status: "exited" | "completed",
  reason: string | null,
  now: number,
): Promise<void> {
  await q.query(
    `update enrollments set status = $3, exit_reason = $4, exited_at = $5, next_run_at = null, history = $6,
       updated_at = $5
     where workspace_id = $1 and id = $2 and status = 'active'`,
    [ws, e.id, status, reason, now, JSON.stringify(e.history)],
  );
  await cancelJob(q, ws, STEP_JOB, `step:${e.id}`);
}
