import type { Queryable } from "../db/database.js";
import { isHandRaiserReason } from "../engine/index.js";
import type { EventInput, Input } from "../engine/types.js";
import { consentChanges, readConsent } from "./consent.js";
import { activeEnrollments, endEnrollment, enroll, scheduleStep } from "./enrollments.js";
import { exitReason, loadStanding } from "./lead-standing.js";
import { conditionContext, type LeadView, loadLeadView, withRecentEvents } from "./lead-view.js";
import { loadSettings } from "./nurture-settings.js";
import { type RunnableSequence, runningSequences, sequenceVersion } from "./sequence-store.js";
import { syncAudiences } from "./sync-audiences.js";
import { setConsent } from "./unsubscribe.js";

/**
 * The `nurture.lead` job, due whenever the pipeline changed a lead (key `lead:<id>`, so a burst
 * of changes runs it once). It reads what is new for the lead since its last run (processed
 * events and stage transitions, by watermark) and:
 * 1. records each change of email consent (a trait or Segment's consent preferences) as a fact,
 *    and keeps the lead's zone and do-not-email flag;
 * 2. ends enrollments whose exit conditions now hold (stage, consent, a hand-raise, a reply, an
 *    exit event, a custom condition), and wakes those waiting for an event that came;
 * 3. enrolls the lead in running sequences whose entry it meets: a stage it entered or an event
 *    since the sequence started running, or a segment condition it matches now;
 * 4. brings its audience memberships up to date.
 */

export const LEAD_JOB = "nurture.lead";

interface Transition {
  seq: number;
  to_stage: string;
  reason: string;
}

const REPLY = "Email Replied";

export async function checkLead(tx: Queryable, ws: string, leadId: string, now: number): Promise<void> {
  const lead = await loadLeadView(tx, ws, leadId);
  // Erased: nothing of it is kept (its enrollments went with it).
  if (!lead) return;
  await tx.query(
    `insert into nurture_leads (workspace_id, lead_id, updated_at) values ($1, $2, $3)
     on conflict (workspace_id, lead_id) do nothing`,
    [ws, leadId, now],
  );
  const marks = await tx.query<{ event_order: number; transition_seq: number; consent: boolean | null }>(
    "select event_order, transition_seq, consent from nurture_leads where workspace_id = $1 and lead_id = $2 for update",
    [ws, leadId],
  );
  const mark = marks[0] as { event_order: number; transition_seq: number; consent: boolean | null };
  const events = await tx.query<{ input: Input; processed_order: number }>(
    `select input, processed_order from events
     where workspace_id = $1 and lead_id = $2 and processed and processed_order > $3 order by processed_order`,
    [ws, leadId, mark.event_order],
  );
  const transitions = await tx.query<Transition>(
    "select seq, to_stage, reason from transitions where workspace_id = $1 and lead_id = $2 and seq > $3 order by seq",
    [ws, leadId, mark.transition_seq],
  );
  const calls = events.map((r) => r.input).filter((i): i is EventInput => i.kind === "event");
  const settings = await loadSettings(tx, ws);

  // 1. Consent, zone, do-not-email.
  for (const c of consentChanges(calls, mark.consent, settings))
    await setConsent(tx, ws, leadId, { email: lead.email, ...c });
  const zone = calls.findLast((e) => typeof e.context?.timezone === "string")?.context?.timezone;
  const doNotEmail = readConsent(lead.traits.do_not_email);
  await tx.query(
    `update nurture_leads set time_zone = coalesce($3, time_zone), do_not_email = coalesce($4, do_not_email),
       event_order = greatest(event_order, $5), transition_seq = greatest(transition_seq, $6), updated_at = $7
     where workspace_id = $1 and lead_id = $2`,
    [
      ws,
      leadId,
      typeof zone === "string" ? zone : null,
      doNotEmail ?? null,
      Number(events.at(-1)?.processed_order ?? 0),
      Number(transitions.at(-1)?.seq ?? 0),
      now,
    ],
  );
  const running = await runningSequences(tx, ws);
  const enrolled = await activeEnrollments(tx, ws, leadId);
  const versions = [];
  for (const e of enrolled) versions.push(await sequenceVersion(tx, ws, e.sequenceId, e.sequenceVersion));
  const window = Math.max(0, ...[...running, ...versions].map((s) => s?.eventWindow ?? 0));
  await withRecentEvents(tx, ws, [lead], window, now);
  const standing = await loadStanding(tx, ws, lead);
  const names = new Set(calls.map((e) => e.event).filter((n): n is string => n !== undefined));
  const handRaised = transitions.some((t) => isHandRaiserReason(t.reason));

  // 2. Enrollments the lead is in.
  const inside = new Set<string>();
  for (const [i, e] of enrolled.entries()) {
    const seq = versions[i];
    if (!seq) continue;
    const exit = seq.spec.exit;
    const exitEvent = exit.events?.find((n) => names.has(n));
    const reason =
      exitReason(seq, lead, standing, settings, now) ??
      (exit.handRaiser && handRaised ? "hand-raiser" : null) ??
      (exit.handRaiser && names.has(REPLY) ? "replied" : null) ??
      (exitEvent ? `event ${exitEvent}` : null);
    if (reason) {
      await endEnrollment(tx, ws, e, "exited", reason, now);
      continue;
    }
    inside.add(e.sequenceId);
    const step = seq.spec.steps[e.stepIndex];
    if (step && "waitFor" in step && e.eventSeenAt === null) {
      const seen = calls.find(
        (c) => c.event !== undefined && step.waitFor.event.includes(c.event) && c.at >= e.stepStartedAt,
      );
      if (seen) {
        await tx.query("update enrollments set event_seen_at = $3 where workspace_id = $1 and id = $2", [
          ws,
          e.id,
          seen.at,
        ]);
        await scheduleStep(tx, ws, e.id, now);
      }
    }
  }

  // 3. Entry into running sequences.
  for (const seq of running) {
    if (inside.has(seq.id) || exitReason(seq, lead, standing, settings, now)) continue;
    const reason = entryReason(seq, lead, transitions, events, now);
    if (reason) await enroll(tx, ws, leadId, seq, reason, now);
  }

  // 4. Audiences.
  await syncAudiences(tx, ws, [lead], now);
}

function entryReason(
  seq: RunnableSequence,
  lead: LeadView,
  transitions: readonly Transition[],
  events: readonly { input: Input; processed_order: number }[],
  now: number,
): string | null {
  const entry = seq.spec.entry;
  const stage =
    entry.stage &&
    transitions.find((t) => t.seq > seq.activatedTransitionSeq && entry.stage?.includes(t.to_stage as never));
  if (stage) return `entered ${stage.to_stage}`;
  const event =
    entry.event &&
    events.find(
      (r) =>
        r.processed_order > seq.activatedEventOrder &&
        r.input.kind === "event" &&
        r.input.event !== undefined &&
        entry.event?.includes(r.input.event),
    );
  if (event && event.input.kind === "event") return `event ${event.input.event}`;
  if (seq.entryWhen?.(conditionContext(lead, now))) return "matched the segment";
  return null;
}
