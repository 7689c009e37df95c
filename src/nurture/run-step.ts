import { randomUUID } from "node:crypto";
import type { Queryable } from "../db/database.js";
import { stepMessageId, trackedLinks, UNSUBSCRIBE_PLACEHOLDER } from "./email/compose-email.js";
import {
  type Enrollment,
  type EnrollmentRow,
  endEnrollment,
  fromEnrollmentRow,
  scheduleStep,
} from "./enrollments.js";
import { exitReason, loadStanding, zoneOf } from "./lead-standing.js";
import { conditionContext, type LeadView, loadLeadView, withRecentEvents } from "./lead-view.js";
import { loadSettings, type NurtureSettings } from "./nurture-settings.js";
import { renderTemplate, templateVarsFor } from "./render-template.js";
import { earliestSend } from "./send-window.js";
import { END, type StepSpec } from "./sequence-spec.js";
import { type RunnableSequence, sequenceVersion } from "./sequence-store.js";
import { getTemplate } from "./template-store.js";

/**
 * The `nurture.step` job: runs an enrollment's steps from where it stands until one has to wait
 * (a wait, a waitFor, quiet hours or the frequency cap) or the sequence ends. Before every step the
 * exit conditions are checked. A send step renders the template and commits an `email_attempts`
 * row (one per enrollment and step, whatever happens): the sender (`email/email-sender.ts`) takes
 * it from there, outside this transaction.
 */

/** While a sequence is paused its enrollments look again this often. */
const PAUSED_RECHECK_MS = 3_600_000;
/** Without a postal address a send holds, and looks again this often. */
const POSTAL_ADDRESS_RECHECK_MS = 3_600_000;
/** A runaway guard: steps only move forward, so no sequence takes more passes than it has steps. */
const MAX_STEPS_PER_RUN = 1_000;

export async function runStep(tx: Queryable, ws: string, enrollmentId: string, now: number): Promise<void> {
  const rows = await tx.query<EnrollmentRow>(
    "select * from enrollments where workspace_id = $1 and id = $2 and status = 'active' for update",
    [ws, enrollmentId],
  );
  if (!rows[0]) return;
  const e = fromEnrollmentRow(rows[0]);
  const seq = await sequenceVersion(tx, ws, e.sequenceId, e.sequenceVersion);
  if (!seq) return endEnrollment(tx, ws, e, "exited", "sequence deleted", now);
  if (!seq.active) return scheduleStep(tx, ws, e.id, now + PAUSED_RECHECK_MS);
  const lead = await loadLeadView(tx, ws, e.leadId);
  if (!lead) return endEnrollment(tx, ws, e, "exited", "lead erased", now);
  await withRecentEvents(tx, ws, [lead], seq.eventWindow, now);
  const settings = await loadSettings(tx, ws);
  const standing = await loadStanding(tx, ws, lead);
  const finish = async (status: "exited" | "completed", reason: string | null) => {
    await save(tx, ws, e, now);
    await endEnrollment(tx, ws, e, status, reason, now);
  };
  for (let i = 0; i < MAX_STEPS_PER_RUN; i++) {
    const reason = exitReason(seq, lead, standing, settings, now);
    if (reason) return finish("exited", reason);
    const step = seq.spec.steps[e.stepIndex];
    if (!step) return finish("completed", null);
    const next = await takeStep(
      tx,
      ws,
      { e, seq, lead, settings, zone: zoneOf(lead, standing, settings) },
      step,
      now,
    );
    if (next.waitUntil !== undefined) {
      await save(tx, ws, e, now);
      return scheduleStep(tx, ws, e.id, next.waitUntil);
    }
    e.history.push({ step: step.id, kind: kindOf(step), at: now, outcome: next.outcome });
    const to = next.jumpTo ?? ("next" in step && step.next !== undefined ? step.next : null);
    e.stepIndex = to === null ? e.stepIndex + 1 : indexOf(seq, to);
    e.stepId = seq.spec.steps[e.stepIndex]?.id ?? null;
    e.stepStartedAt = now;
    e.eventSeenAt = null;
  }
  throw new Error(`enrollment ${e.id}: more than ${MAX_STEPS_PER_RUN} steps in one run`);
}

const kindOf = (s: StepSpec) =>
  "send" in s ? "send" : "wait" in s ? "wait" : "waitFor" in s ? "waitFor" : "if";

interface StepContext {
  e: Enrollment;
  seq: RunnableSequence;
  lead: LeadView;
  settings: NurtureSettings;
  zone: string;
}

/** What a step did: done (with an outcome, maybe a jump to a step or `end`), or it waits until a time. */
type StepResult = { outcome: string; jumpTo?: string; waitUntil?: undefined } | { waitUntil: number };

/** A step's index; `end` is one past the last, where the enrollment completes. */
const indexOf = (seq: RunnableSequence, to: string) =>
  to === END ? seq.spec.steps.length : seq.spec.steps.findIndex((s) => s.id === to);

async function takeStep(
  tx: Queryable,
  ws: string,
  c: StepContext,
  step: StepSpec,
  now: number,
): Promise<StepResult> {
  const { e, seq } = c;
  if ("wait" in step) {
    const due = e.stepStartedAt + step.wait;
    return due > now ? { waitUntil: due } : { outcome: "waited" };
  }
  if ("waitFor" in step) {
    if (e.eventSeenAt !== null) return { outcome: "event came" };
    const due = e.stepStartedAt + step.waitFor.timeout;
    return due > now ? { waitUntil: due } : { outcome: "timed out" };
  }
  if ("if" in step) {
    const holds = seq.branches.get(step.id)?.(conditionContext(c.lead, now)) ?? false;
    const target = holds ? step.then : step.else;
    if (target === undefined) return { outcome: "condition false: next step" };
    return { outcome: `condition ${holds ? "true" : "false"}: ${target}`, jumpTo: target };
  }
  return send(tx, ws, c, step, now);
}

async function send(
  tx: Queryable,
  ws: string,
  c: StepContext,
  step: Extract<StepSpec, { send: string }>,
  now: number,
): Promise<StepResult> {
  const { e, lead, settings } = c;
  if (!lead.email) return { outcome: "skipped: no email address" };
  // Unset since the sequence started: hold until someone sets it.
  if (!settings.postalAddress) return { waitUntil: now + POSTAL_ADDRESS_RECHECK_MS };
  const sent = await tx.query<{ at: number }>(
    `select created_at as at from email_attempts
     where workspace_id = $1 and lead_id = $2 and created_at > $3 and status in ('queued', 'sending', 'sent', 'unknown')`,
    [ws, lead.id, now - (settings.frequencyCap?.window ?? 0)],
  );
  const at = earliestSend(
    c.zone,
    settings.quietHours,
    sent.map((r) => Number(r.at)),
    settings.frequencyCap ? { max: settings.frequencyCap.max, windowMs: settings.frequencyCap.window } : null,
    now,
  );
  if (at > now) return { waitUntil: at };
  const template = await getTemplate(tx, ws, step.send);
  if (!template) throw new Error(`template '${step.send}' does not exist (sequence ${e.sequenceId})`);
  const rendered = renderTemplate(
    template.spec,
    templateVarsFor(lead, {
      unsubscribeUrl: UNSUBSCRIBE_PLACEHOLDER,
      postalAddress: settings.postalAddress,
      ...(settings.from ? { from: settings.from } : {}),
    }),
  );
  const inserted = await tx.query(
    `insert into email_attempts (workspace_id, id, enrollment_id, lead_id, sequence_id, step_id, template_id,
       template_version, to_address, message_id, subject, html, text_body, links, status, next_attempt_at, created_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'queued', $15, $15)
     on conflict (workspace_id, enrollment_id, step_id) do nothing returning 1`,
    [
      ws,
      randomUUID(),
      e.id,
      lead.id,
      e.sequenceId,
      step.id,
      template.id,
      template.version,
      lead.email,
      stepMessageId(e.id, step.id),
      rendered.subject,
      rendered.html,
      rendered.text,
      trackedLinks(rendered.html).length,
      now,
    ],
  );
  return { outcome: inserted.length > 0 ? `queued ${template.id} v${template.version}` : "already queued" };
}

async function save(tx: Queryable, ws: string, e: Enrollment, now: number): Promise<void> {
  await tx.query(
    `update enrollments set step_index = $3, step_id = $4, step_started_at = $5, event_seen_at = $6, history = $7,
       updated_at = $8
     where workspace_id = $1 and id = $2`,
    [ws, e.id, e.stepIndex, e.stepId, e.stepStartedAt, e.eventSeenAt, JSON.stringify(e.history), now],
  );
}
