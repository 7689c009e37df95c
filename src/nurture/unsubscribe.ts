import type { Queryable } from "../db/database.js";
import { activeEnrollments, endEnrollment } from "./enrollments.js";

/**
 * Unsubscribes an address, in one transaction: it joins the suppression list (which every send
 * checks), the lead's consent is withdrawn (a recorded change), and its enrollments end. The caller
 * then records the `Unsubscribed` event, which the model scores.
 */
export async function unsubscribe(
  tx: Queryable,
  ws: string,
  o: { leadId: string | null; email: string; source: string; detail: string; at: number },
): Promise<void> {
  await tx.query(
    `insert into email_suppressions (workspace_id, email, reason, detail, lead_id, at)
     values ($1, lower($2), 'unsubscribed', $3, $4, $5)
     on conflict (workspace_id, email) do update set reason = 'unsubscribed', detail = excluded.detail, at = excluded.at`,
    [ws, o.email, o.detail, o.leadId, o.at],
  );
  if (!o.leadId) return;
  await setConsent(tx, ws, o.leadId, { email: o.email, granted: false, source: o.source, at: o.at });
  for (const e of await activeEnrollments(tx, ws, o.leadId))
    await endEnrollment(tx, ws, e, "exited", "unsubscribed", o.at);
}

/** Records a change of consent (unless it is no change) and keeps the lead's standing. */
export async function setConsent(
  tx: Queryable,
  ws: string,
  leadId: string,
  o: { email: string | null; granted: boolean; source: string; at: number; inputId?: string },
): Promise<boolean> {
  await tx.query(
    `insert into nurture_leads (workspace_id, lead_id, updated_at) values ($1, $2, $3)
     on conflict (workspace_id, lead_id) do nothing`,
    [ws, leadId, o.at],
  );
  const changed = await tx.query(
    `update nurture_leads set consent = $3, consent_source = $4, consent_at = $5, updated_at = $5
     where workspace_id = $1 and lead_id = $2 and consent is distinct from $3 returning 1`,
    [ws, leadId, o.granted, o.source, o.at],
  );
  if (changed.length === 0) return false;
  await tx.query(
    `insert into consent_changes (workspace_id, lead_id, email, granted, source, input_id, at)
     values ($1, $2, $3, $4, $5, $6, $7)`,
    [ws, leadId, o.email, o.granted, o.source, o.inputId ?? null, o.at],
  );
  return true;
}
