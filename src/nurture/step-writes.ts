import type { Queryable } from "../db/database.js";
import { arrayColumns, insertRows } from "../db/insert-rows.js";
import { cancelJobs, scheduleJobs } from "../scheduler/schedule-job.js";
import { type Enrollment, STEP_JOB, type StepRecord } from "./enrollments.js";

/**
 * What a batch of steps writes, gathered while the steps run and written at the end, one statement
 * for each kind: the queued email attempts; every enrollment's new state; the step jobs of those
 * that wait; the cancellation of those that ended.
 */

/** Columns of `email_attempts` that a send step fills (status `queued`). */
export const ATTEMPT_COLUMNS = [
  "workspace_id",
  "id",
  "enrollment_id",
  "lead_id",
  "sequence_id",
  "step_id",
  "template_id",
  "template_version",
  "to_address",
  "message_id",
  "subject",
  "html",
  "text_body",
  "links",
  "status",
  "next_attempt_at",
  "created_at",
] as const;

export type AttemptColumn = (typeof ATTEMPT_COLUMNS)[number];

interface QueuedAttempt {
  values: Record<AttemptColumn, unknown>;
  /** The history entry of the step, told "already queued" if an earlier run queued this one. */
  record: StepRecord;
}

interface EnrollmentState {
  e: Enrollment;
  status: "active" | "exited" | "completed";
  reason: string | null;
  /** When its step job runs next (active ones). */
  nextRunAt: number | null;
}

export class StepWrites {
  private readonly attempts: QueuedAttempt[] = [];
  private readonly states: EnrollmentState[] = [];

  /** A send step queued this attempt; `record` is its history entry. */
  queue(values: Record<AttemptColumn, unknown>, record: StepRecord): void {
    this.attempts.push({ values, record });
  }

  /** The enrollment waits: its step job runs again at `at`. */
  wait(e: Enrollment, at: number): void {
    this.states.push({ e, status: "active", reason: null, nextRunAt: at });
  }

  /** The enrollment ended: exited (with why) or completed. */
  end(e: Enrollment, status: "exited" | "completed", reason: string | null): void {
    this.states.push({ e, status, reason, nextRunAt: null });
  }

  /** Writes it all; returns how many email attempts it queued. */
  async commit(tx: Queryable, ws: string, now: number): Promise<number> {
    const queued = await this.insertAttempts(tx);
    await this.saveEnrollments(tx, ws, now);
    const waiting = this.states.filter((s) => s.nextRunAt !== null);
    await scheduleJobs(
      tx,
      waiting.map((s) => ({
        ws,
        kind: STEP_JOB,
        key: `step:${s.e.id}`,
        runAt: s.nextRunAt as number,
        payload: { enrollmentId: s.e.id },
      })),
    );
    const ended = this.states.filter((s) => s.status !== "active");
    await cancelJobs(
      tx,
      ws,
      STEP_JOB,
      ended.map((s) => `step:${s.e.id}`),
    );
    return queued;
  }

  /** One attempt per enrollment and step, whatever happens: one queued before stays as it was. */
  private async insertAttempts(tx: Queryable): Promise<number> {
    if (this.attempts.length === 0) return 0;
    const inserted = await insertRows<{ enrollment_id: string; step_id: string }>(
      tx,
      "email_attempts",
      ATTEMPT_COLUMNS,
      this.attempts.map((a) => ATTEMPT_COLUMNS.map((c) => a.values[c])),
      "on conflict (workspace_id, enrollment_id, step_id) do nothing returning enrollment_id, step_id",
    );
    const fresh = new Set(inserted.map((r) => `${r.enrollment_id}\n${r.step_id}`));
    for (const a of this.attempts)
      if (!fresh.has(`${a.values.enrollment_id}\n${a.values.step_id}`)) a.record.outcome = "already queued";
    return inserted.length;
  }

  private async saveEnrollments(tx: Queryable, ws: string, now: number): Promise<void> {
    if (this.states.length === 0) return;
    await tx.query(
      `update enrollments e set step_index = u.step_index, step_id = u.step_id, step_started_at = u.started,
         event_seen_at = u.seen, history = u.history::jsonb, status = u.status, exit_reason = u.reason,
         exited_at = case when u.status = 'active' then null else $2::bigint end, next_run_at = u.next,
         updated_at = $2
       from unnest($3::text[], $4::integer[], $5::text[], $6::bigint[], $7::bigint[], $8::text[], $9::text[],
                   $10::text[], $11::bigint[])
         as u(id, step_index, step_id, started, seen, history, status, reason, next)
       where e.workspace_id = $1 and e.id = u.id`,
      [
        ws,
        now,
        ...arrayColumns(this.states, [
          [(s) => s.e.id, "text"],
          [(s) => s.e.stepIndex, "integer"],
          [(s) => s.e.stepId, "text"],
          [(s) => s.e.stepStartedAt, "bigint"],
          [(s) => s.e.eventSeenAt, "bigint"],
          [(s) => JSON.stringify(s.e.history), "text"],
          [(s) => s.status, "text"],
          [(s) => s.reason, "text"],
          [(s) => s.nextRunAt, "bigint"],
        ]),
      ],
    );
  }
}
