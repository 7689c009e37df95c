import type { Queryable } from "../../db/database.js";
import type { NewEvent } from "../../ingest/append-events.js";
import { parseSegmentEvent } from "../../ingest/parse-segment-event.js";

/**
 * The events email produces for a lead (`Email Opened`, `Email Clicked`, `Unsubscribed`,
 * `Email Bounced`), as Segment track calls of the lead's own identity, so that they go through the
 * normal pipeline: stored, scored by the model, merged with the rest of the lead's history.
 */

export const EMAIL_EVENTS = {
  opened: "Email Opened",
  clicked: "Email Clicked",
  unsubscribed: "Unsubscribed",
  bounced: "Email Bounced",
} as const;

/**
 * A track call for the lead, under its user id (else one of its anonymous ids); null when the lead
 * has no identity left (erased). `messageId` makes a retried call count once.
 */
export async function emailEvent(
  q: Queryable,
  ws: string,
  leadId: string,
  e: { event: string; messageId: string; at: number; properties: Record<string, unknown> },
  receivedAt: number,
): Promise<NewEvent | null> {
  const ids = await q.query<{ kind: "user" | "anonymous"; value: string }>(
    `select i.kind, i.value from identities i
     where i.workspace_id = $1 and i.lead_id = (
       with recursive chain(id, merged_into) as (
         select id, merged_into from leads where workspace_id = $1 and id = $2
         union all
         select l.id, l.merged_into from leads l join chain c on l.workspace_id = $1 and l.id = c.merged_into)
       select id from chain where merged_into is null limit 1)
     order by i.kind desc, i.created_at limit 1`,
    [ws, leadId],
  );
  const id = ids[0];
  if (!id) return null;
  const parsed = parseSegmentEvent(
    {
      type: "track",
      event: e.event,
      messageId: e.messageId,
      timestamp: new Date(e.at).toISOString(),
      properties: e.properties,
      context: { library: { name: "qualify-nurture" } },
      ...(id.kind === "user" ? { userId: id.value } : { anonymousId: id.value }),
    },
    receivedAt,
  );
  if (!parsed.ok) throw new Error(`email event ${e.event}: ${parsed.field}: ${parsed.reason}`);
  return {
    workspaceId: ws,
    kind: "event",
    type: "track",
    userId: parsed.event.userId ?? null,
    anonymousId: parsed.event.anonymousId ?? null,
    previousId: null,
    leadId: null,
    receivedAt,
    input: parsed.event.input,
    notify: true,
  };
}
