import { randomUUID } from "node:crypto";
import type { Queryable } from "../db/database.js";
import { stepMessageId, trackedLinks, UNSUBSCRIBE_PLACEHOLDER } from "./email/compose-email.js";
import type { Enrollment, StepRecord } from "./enrollments.js";
import { exitReason, type Standing, zoneOf } from "./lead-standing.js";
import { conditionContext, type LeadView } from "./lead-view.js";
import { renderTemplate, templateVarsFor } from "./render-template.js";
import { earliestSend } from "./send-window.js";
import { END, type StepSpec } from "./sequence-spec.js";
import type { RunnableSequence } from "./sequence-store.js";
import { loadStepBatch, type StepBatch, versionKey } from "./step-batch.js";
import { type AttemptColumn, StepWrites } from "./step-writes.js";

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

export async function runStep(tx: Queryable, ws: string, enrollmentId: string, now: number): Promise<number> {
  return runSteps(tx, ws, [enrollmentId], now);
}

/**
 * The step jobs of many enrollments of one workspace, in the caller's transaction: their reads made
 * once for all (`step-batch.ts`), their writes one statement each (`step-writes.ts`). Returns how
 * many email attempts it queued.
 */
export async function runSteps(
  tx: Queryable,
  ws: string,
  enrollmentIds: readonly string[],
  now: number,
): Promise<number> {
  const batch = await loadStepBatch(tx, ws, enrollmentIds, now);
  if (!batch) return 0;
  const writes = new StepWrites();
  for (const e of batch.enrollments) await advance(ws, batch, writes, e, now);
  return writes.commit(tx, ws, now);
}

/** Runs one enrollment's steps until one has to wait or the enrollment ends. */
async function advance(ws: string, b: StepBatch, w: StepWrites, e: Enrollment, now: number): Promise<void> {
  const seq = b.sequences.get(versionKey(e));
  if (!seq) return w.end(e, "exited", "sequence deleted");
  if (!seq.active) return w.wait(e, now + PAUSED_RECHECK_MS);
  const lead = b.leads.get(e.leadId);
  if (!lead) return w.end(e, "exited", "lead erased");
  const standing = b.standings.get(lead.id) as Standing;
  const c: StepContext = { ws, b, w, e, seq, lead, zone: zoneOf(lead, standing, b.settings) };
  for (let i = 0; i < MAX_STEPS_PER_RUN; i++) {
    const reason = exitReason(seq, lead, standing, b.settings, now);
    if (reason) return w.end(e, "exited", reason);
    const step = seq.spec.steps[e.stepIndex];
    if (!step) return w.end(e, "completed", null);
    const next = await takeStep(c, step, now);
    if (next.waitUntil !== undefined) return w.wait(e, next.waitUntil);
    const record: StepRecord = { step: step.id, kind: kindOf(step), at: now, outcome: next.outcome };
    e.history.push(record);
    if (next.attempt) w.queue(next.attempt, record);
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
  ws: string;
  b: StepBatch;
  w: StepWrites;
  e: Enrollment;
  seq: RunnableSequence;
  lead: LeadView;
  zone: string;
}

/**
 * What a step did: done (with an outcome, maybe a jump to a step or `end`, maybe an email attempt to
 * queue), or it waits until a time.
 */
type StepResult =
  | { outcome: string; jumpTo?: string; attempt?: Record<AttemptColumn, unknown>; waitUntil?: undefined }
  | { waitUntil: number };

/** A step's index; `end` is one past the last, where the enrollment completes. */
const indexOf = (seq: RunnableSequence, to: string) =>
  to === END ? seq.spec.steps.length : seq.spec.steps.findIndex((s) => s.id === to);

async function takeStep(c: StepContext, step: StepSpec, now: number): Promise<StepResult> {
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
  return send(c, step, now);
}

async function send(
  c: StepContext,
  step: Extract<StepSpec, { send: string }>,
  now: number,
): Promise<StepResult> {
  const { e, lead } = c;
  const settings = c.b.settings;
  if (!lead.email) return { outcome: "skipped: no email address" };
  // Unset since the sequence started: hold until someone sets it.
  if (!settings.postalAddress) return { waitUntil: now + POSTAL_ADDRESS_RECHECK_MS };
  const cap = settings.frequencyCap;
  const sent = c.b.sent.get(lead.id) ?? [];
  const at = earliestSend(
    c.zone,
    settings.quietHours,
    cap ? sent.filter((t) => t > now - cap.window) : [],
    cap ? { max: cap.max, windowMs: cap.window } : null,
    now,
  );
  if (at > now) return { waitUntil: at };
  const template = await c.b.template(step.send);
  if (!template) throw new Error(`template '${step.send}' does not exist (sequence ${e.sequenceId})`);
  const rendered = renderTemplate(
    template.spec,
    templateVarsFor(lead, {
      unsubscribeUrl: UNSUBSCRIBE_PLACEHOLDER,
      postalAddress: settings.postalAddress,
      ...(settings.from ? { from: settings.from } : {}),
    }),
  );
  // Another enrollment of the lead in this batch counts it against the cap.
  sent.push(now);
  c.b.sent.set(lead.id, sent);
  return {
    outcome: `queued ${template.id} v${template.version}`,
    attempt: {
      workspace_id: c.ws,
      id: randomUUID(),
      enrollment_id: e.id,
      lead_id: lead.id,
      sequence_id: e.sequenceId,
      step_id: step.id,
      template_id: template.id,
      template_version: template.version,
      to_address: lead.email,
      message_id: stepMessageId(e.id, step.id),
      subject: rendered.subject,
      html: rendered.html,
      text_body: rendered.text,
      links: trackedLinks(rendered.html).length,
      status: "queued",
      next_attempt_at: now,
      created_at: now,
    },
  };
}
