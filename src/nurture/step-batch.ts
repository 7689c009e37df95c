import type { Queryable } from "../db/database.js";
import { arrayLiteral } from "../db/insert-rows.js";
import { type Enrollment, type EnrollmentRow, fromEnrollmentRow } from "./enrollments.js";
import { loadStandings, type Standing } from "./lead-standing.js";
import { type LeadView, loadLeadViews, withRecentEvents } from "./lead-view.js";
import { loadSettings, type NurtureSettings } from "./nurture-settings.js";
import { type RunnableSequence, sequenceVersion } from "./sequence-store.js";
import { getTemplate, type StoredTemplate } from "./template-store.js";

/**
 * What a batch of `nurture.step` jobs reads, each in one statement for the whole batch: the
 * enrollments (locked), their sequence versions, the leads with their recent events and email
 * standing, the workspace's settings, and the marketing emails that count against the frequency
 * cap. Templates are read once each, when a send step first needs them.
 */
export interface StepBatch {
  /** The active ones among the jobs' enrollments, locked for the transaction, in id order. */
  enrollments: Enrollment[];
  sequences: Map<string, (RunnableSequence & { active: boolean }) | null>;
  leads: Map<string, LeadView>;
  standings: Map<string, Standing>;
  settings: NurtureSettings;
  /** When each lead's marketing emails within the cap's window were queued (this batch's included). */
  sent: Map<string, number[]>;
  template(id: string): Promise<StoredTemplate | null>;
}

export const versionKey = (e: Pick<Enrollment, "sequenceId" | "sequenceVersion">) =>
  `${e.sequenceId}@${e.sequenceVersion}`;

export async function loadStepBatch(
  tx: Queryable,
  ws: string,
  enrollmentIds: readonly string[],
  now: number,
): Promise<StepBatch | null> {
  const rows = await tx.query<EnrollmentRow>(
    `select * from enrollments where workspace_id = $1 and id = any($2::text[]) and status = 'active'
     order by id for update`,
    [ws, arrayLiteral(enrollmentIds, "text")],
  );
  if (rows.length === 0) return null;
  const enrollments = rows.map(fromEnrollmentRow);
  const sequences = new Map<string, (RunnableSequence & { active: boolean }) | null>();
  for (const e of enrollments)
    if (!sequences.has(versionKey(e)))
      sequences.set(versionKey(e), await sequenceVersion(tx, ws, e.sequenceId, e.sequenceVersion));
  const views = await loadLeadViews(tx, ws, [...new Set(enrollments.map((e) => e.leadId))]);
  const window = Math.max(0, ...[...sequences.values()].map((s) => s?.eventWindow ?? 0));
  await withRecentEvents(tx, ws, views, window, now);
  const settings = await loadSettings(tx, ws);
  const templates = new Map<string, Promise<StoredTemplate | null>>();
  return {
    enrollments,
    sequences,
    leads: new Map(views.map((v) => [v.id, v])),
    standings: await loadStandings(tx, ws, views),
    settings,
    sent: await sentWithin(tx, ws, views, settings, now),
    template: (id) => {
      let t = templates.get(id);
      if (!t) {
        t = getTemplate(tx, ws, id);
        templates.set(id, t);
      }
      return t;
    },
  };
}

/** The marketing emails of these leads that count against the frequency cap (none without one). */
async function sentWithin(
  tx: Queryable,
  ws: string,
  views: readonly LeadView[],
  settings: NurtureSettings,
  now: number,
): Promise<Map<string, number[]>> {
  const sent = new Map<string, number[]>(views.map((v) => [v.id, []]));
  if (!settings.frequencyCap || views.length === 0) return sent;
  const rows = await tx.query<{ lead_id: string; at: number }>(
    `select lead_id, created_at as at from email_attempts
     where workspace_id = $1 and lead_id = any($2::text[]) and created_at > $3
       and status in ('queued', 'sending', 'sent', 'unknown')`,
    [
      ws,
      arrayLiteral(
        views.map((v) => v.id),
        "text",
      ),
      now - settings.frequencyCap.window,
    ],
  );
  for (const r of rows) sent.get(r.lead_id)?.push(Number(r.at));
  return sent;
}
