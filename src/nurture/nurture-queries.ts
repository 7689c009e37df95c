import type { Queryable } from "../db/database.js";
import { type Enrollment, type EnrollmentRow, fromEnrollmentRow } from "./enrollments.js";

/**
 * What nurture shows: enrollments (per lead, per sequence, with counts by step), email attempts
 * (with `unknown` ones for admins), suppressions and consent history. Times come out as ISO text.
 */

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function enrollmentJson(e: Enrollment) {
  return {
    id: e.id,
    leadId: e.leadId,
    sequence: e.sequenceId,
    version: e.sequenceVersion,
    status: e.status,
    step: e.stepId,
    stepIndex: e.stepIndex,
    stepStartedAt: iso(e.stepStartedAt),
    nextRunAt: e.status === "active" ? iso(e.nextRunAt) : null,
    enteredAt: iso(e.enteredAt),
    entryReason: e.entryReason,
    exitedAt: iso(e.exitedAt),
    exitReason: e.exitReason,
    steps: e.history.map((h) => ({ ...h, at: iso(h.at) })),
  };
}

export async function leadEnrollments(q: Queryable, ws: string, leadId: string) {
  const rows = await q.query<EnrollmentRow>(
    "select * from enrollments where workspace_id = $1 and lead_id = $2 order by entered_at desc",
    [ws, leadId],
  );
  return rows.map((r) => enrollmentJson(fromEnrollmentRow(r)));
}

export async function sequenceEnrollments(
  q: Queryable,
  ws: string,
  sequenceId: string,
  f: { status?: string; limit: number },
) {
  const rows = await q.query<EnrollmentRow & { lead_email: string | null }>(
    `select e.*, l.email as lead_email from enrollments e
     left join leads l on l.workspace_id = e.workspace_id and l.id = e.lead_id
     where e.workspace_id = $1 and e.sequence_id = $2 and ($3::text is null or e.status = $3)
     order by e.entered_at desc limit $4`,
    [ws, sequenceId, f.status ?? null, f.limit],
  );
  return rows.map((r) => ({ ...enrollmentJson(fromEnrollmentRow(r)), email: r.lead_email }));
}

/**
 * Enrollments of a sequence by status and why they ended, the active ones by the step they are at,
 * and by step its emails by status and the sent ones opened (the pixel loaded, or a link was
 * clicked: images are often blocked), clicked (by a person: not `suspectedBot`) and unsubscribed
 * from (the email's own link).
 */
export async function sequenceCounts(q: Queryable, ws: string, sequenceId: string) {
  const rows = await q.query<{ status: string; step_id: string | null; n: number }>(
    `select status, case when status = 'active' then step_id end as step_id, count(*)::int as n
     from enrollments where workspace_id = $1 and sequence_id = $2 group by 1, 2`,
    [ws, sequenceId],
  );
  const byStatus: Record<string, number> = { active: 0, completed: 0, exited: 0 };
  const activeByStep: Record<string, number> = {};
  for (const r of rows) {
    byStatus[r.status] = (byStatus[r.status] ?? 0) + r.n;
    if (r.status === "active" && r.step_id) activeByStep[r.step_id] = (activeByStep[r.step_id] ?? 0) + r.n;
  }
  const sent = await q.query<{ step_id: string; status: string; n: number }>(
    `select step_id, status, count(*)::int as n from email_attempts where workspace_id = $1 and sequence_id = $2
     group by 1, 2`,
    [ws, sequenceId],
  );
  const emailsByStep: Record<string, Record<string, number>> = {};
  for (const r of sent) emailsByStep[r.step_id] = { ...emailsByStep[r.step_id], [r.status]: r.n };
  const engaged = await q.query<{ step_id: string; opened: number; clicked: number; unsubscribed: number }>(
    `select a.step_id,
       count(*) filter (where a.opened_at is not null or x.clicked)::int as opened,
       count(*) filter (where x.clicked)::int as clicked,
       count(*) filter (where a.unsubscribed_at is not null)::int as unsubscribed
     from email_attempts a
     cross join lateral (select exists (select 1 from email_clicks c
       where c.attempt_id = a.id and not c.suspected_bot) as clicked) x
     where a.workspace_id = $1 and a.sequence_id = $2 and a.status = 'sent'
     group by 1`,
    [ws, sequenceId],
  );
  const engagementByStep: Record<string, { opened: number; clicked: number; unsubscribed: number }> = {};
  for (const r of engaged)
    engagementByStep[r.step_id] = { opened: r.opened, clicked: r.clicked, unsubscribed: r.unsubscribed };
  const exits = await q.query<{ reason: string; n: number }>(
    `select coalesce(exit_reason, status) as reason, count(*)::int as n from enrollments
     where workspace_id = $1 and sequence_id = $2 and status <> 'active' group by 1 order by 2 desc`,
    [ws, sequenceId],
  );
  return {
    enrollments: byStatus,
    activeByStep,
    emailsByStep,
    engagementByStep,
    exitReasons: Object.fromEntries(exits.map((r) => [r.reason, r.n])),
  };
}

interface AttemptRow {
  id: string;
  lead_id: string;
  enrollment_id: string;
  sequence_id: string;
  step_id: string;
  template_id: string;
  template_version: number;
  to_address: string;
  message_id: string;
  subject: string;
  status: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  smtp_response: string | null;
  created_at: number;
  sent_at: number | null;
}

export async function listAttempts(
  q: Queryable,
  ws: string,
  f: { status?: string; leadId?: string; sequence?: string; limit: number },
) {
  const rows = await q.query<AttemptRow>(
    `select id, lead_id, enrollment_id, sequence_id, step_id, template_id, template_version, to_address, message_id,
       subject, status, attempts, next_attempt_at, last_error, smtp_response, created_at, sent_at
     from email_attempts where workspace_id = $1 and ($2::text is null or status = $2)
       and ($3::text is null or lead_id = $3) and ($4::text is null or sequence_id = $4)
     order by created_at desc, id limit $5`,
    [ws, f.status ?? null, f.leadId ?? null, f.sequence ?? null, f.limit],
  );
  return rows.map((r) => ({
    id: r.id,
    leadId: r.lead_id,
    enrollmentId: r.enrollment_id,
    sequence: r.sequence_id,
    step: r.step_id,
    template: r.template_id,
    templateVersion: r.template_version,
    to: r.to_address,
    messageId: r.message_id,
    subject: r.subject,
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: r.status === "queued" ? iso(Number(r.next_attempt_at)) : null,
    lastError: r.last_error,
    smtpResponse: r.smtp_response,
    createdAt: iso(Number(r.created_at)),
    sentAt: iso(r.sent_at === null ? null : Number(r.sent_at)),
  }));
}

export async function consentHistory(q: Queryable, ws: string, leadId: string) {
  const rows = await q.query<{
    granted: boolean;
    source: string;
    input_id: string | null;
    at: number;
    email: string | null;
  }>(
    "select granted, source, input_id, at, email from consent_changes where workspace_id = $1 and lead_id = $2 order by seq",
    [ws, leadId],
  );
  return rows.map((r) => ({
    granted: r.granted,
    source: r.source,
    inputId: r.input_id,
    email: r.email,
    at: iso(Number(r.at)),
  }));
}

export async function listSuppressions(q: Queryable, ws: string, limit: number) {
  const rows = await q.query<{
    email: string;
    reason: string;
    detail: string | null;
    lead_id: string | null;
    at: number;
  }>(
    "select email, reason, detail, lead_id, at from email_suppressions where workspace_id = $1 order by at desc limit $2",
    [ws, limit],
  );
  return rows.map((r) => ({
    email: r.email,
    reason: r.reason,
    detail: r.detail,
    leadId: r.lead_id,
    at: iso(Number(r.at)),
  }));
}
