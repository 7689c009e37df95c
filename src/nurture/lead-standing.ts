import type { Queryable } from "../db/database.js";
import { arrayLiteral } from "../db/insert-rows.js";
import { consentGranted } from "./consent.js";
import { conditionContext, type LeadView } from "./lead-view.js";
import type { NurtureSettings } from "./nurture-settings.js";
import { leadZone } from "./send-window.js";
import type { RunnableSequence } from "./sequence-store.js";

/**
 * A lead's email standing (consent, do-not-email, suppression, zone) and the exit conditions every
 * step checks first. The standing lives in `nurture_leads`; the nurture job keeps it current from
 * the lead's events.
 */

export interface Standing {
  consent: boolean | null;
  doNotEmail: boolean;
  timeZone: string | null;
  /** Why the lead's address gets no marketing email: unsubscribed, bounced… (null: it may). */
  suppressed: string | null;
}

export async function loadStanding(q: Queryable, ws: string, lead: LeadView): Promise<Standing> {
  return (await loadStandings(q, ws, [lead])).get(lead.id) as Standing;
}

/** The standing of each of these leads, by lead id (one statement). */
export async function loadStandings(
  q: Queryable,
  ws: string,
  leads: readonly LeadView[],
): Promise<Map<string, Standing>> {
  const rows = await q.query<{
    lead_id: string;
    consent: boolean | null;
    do_not_email: boolean;
    time_zone: string | null;
    reason: string | null;
  }>(
    `select l.id as lead_id, n.consent, coalesce(n.do_not_email, false) as do_not_email, n.time_zone, s.reason
     from unnest($2::text[], $3::text[]) as l(id, email)
     left join nurture_leads n on n.workspace_id = $1 and n.lead_id = l.id
     left join email_suppressions s on s.workspace_id = $1 and s.email = lower(l.email)`,
    [
      ws,
      arrayLiteral(
        leads.map((l) => l.id),
        "text",
      ),
      arrayLiteral(
        leads.map((l) => l.email ?? ""),
        "text",
      ),
    ],
  );
  return new Map(
    rows.map((r) => [
      r.lead_id,
      { consent: r.consent, doNotEmail: r.do_not_email, timeZone: r.time_zone, suppressed: r.reason },
    ]),
  );
}

const MQL_OR_BEYOND = new Set(["mql", "sal", "sql", "opportunity", "customer"]);

/** Why the lead leaves this sequence now, from its state (not its events); null: it stays. */
export function exitReason(
  seq: RunnableSequence,
  lead: LeadView,
  standing: Standing,
  settings: NurtureSettings,
  now: number,
): string | null {
  if (lead.mergedInto) return "merged";
  if (seq.spec.exit.mql && MQL_OR_BEYOND.has(lead.stage)) return `became ${lead.stage}`;
  if (seq.spec.exit.disqualified && lead.stage === "disqualified") return "disqualified";
  if (standing.suppressed) return standing.suppressed;
  if (standing.doNotEmail) return "do-not-email";
  if (!consentGranted(standing.consent, settings)) return "no email consent";
  if (seq.exitWhen?.(conditionContext(lead, now))) return "exit condition";
  return null;
}

/** The zone quiet hours are read in: the latest context.timezone, the `timezone` trait, the default. */
export const zoneOf = (lead: LeadView, standing: Standing, settings: NurtureSettings) =>
  leadZone([standing.timeZone, lead.traits.timezone], settings.defaultTimeZone);
