import type { Queryable } from "../../db/database.js";
import { type LinkPurpose, linkKey, verifyLink } from "./tracking-links.js";

/** A sent attempt named by a tracking link, once the link's signature checks out. */
export interface TrackedAttempt {
  ws: string;
  id: string;
  leadId: string;
  to: string;
  sequenceId: string;
  stepId: string;
  templateId: string;
  links: number;
  sentAt: number | null;
}

interface Row {
  workspace_id: string;
  id: string;
  lead_id: string;
  to_address: string;
  sequence_id: string;
  step_id: string;
  template_id: string;
  links: number;
  sent_at: number | null;
}

/**
 * The attempt a link names, when its signature is right for its purpose (and, for a click, its
 * URL); null otherwise, so a forged or changed link does nothing.
 */
export async function trackedAttempt(
  q: Queryable,
  attemptId: string,
  purpose: LinkPurpose,
  signature: string,
  url?: string,
): Promise<TrackedAttempt | null> {
  const rows = await q.query<Row>(
    `select workspace_id, id, lead_id, to_address, sequence_id, step_id, template_id, links, sent_at
     from email_attempts where id = $1`,
    [attemptId],
  );
  const r = rows[0];
  if (!r) return null;
  if (!verifyLink(await linkKey(q, r.workspace_id), purpose, r.id, signature, url)) return null;
  return {
    ws: r.workspace_id,
    id: r.id,
    leadId: r.lead_id,
    to: r.to_address,
    sequenceId: r.sequence_id,
    stepId: r.step_id,
    templateId: r.template_id,
    links: r.links,
    sentAt: r.sent_at === null ? null : Number(r.sent_at),
  };
}
