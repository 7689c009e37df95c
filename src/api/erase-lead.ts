import { holdWorkspace } from "../db/advisory-locks.js";
import type { Database } from "../db/database.js";
import { addTombstones, type TombstoneKind } from "../pipeline/tombstones.js";
import { loadLead } from "./lead-queries.js";

/**
 * Erasure (GDPR): the lead's events, traits, state, identities, transitions, merges and
 * notifications are deleted, with the leads merged into it. Hashed tombstones of its userIds,
 * anonymousIds and email stop retries and late events from recreating it; only anonymised counts
 * are kept. Runs between pipeline batches, in every process.
 */
export async function eraseLead(db: Database, ws: string, id: string) {
  return db.transaction(async (tx) => {
    // No batch of any process runs in the workspace while the lead and its events are deleted.
    await holdWorkspace(tx, ws, "exclusive");
    const lead = await loadLead(tx, ws, id);
    const family = await tx.query<{ id: string; email: string | null }>(
      `with recursive fam(id) as (select $2::text union select l.id from leads l join fam on l.merged_into = fam.id
           where l.workspace_id = $1)
         select l.id, l.email from leads l join fam on fam.id = l.id where l.workspace_id = $1 for update`,
      [ws, lead.id],
    );
    const ids = family.map((f) => f.id);
    const idents = await tx.query<{ kind: "user" | "anonymous"; value: string }>(
      "select kind, value from identities where workspace_id = $1 and lead_id = any($2)",
      [ws, ids],
    );
    const marks: [TombstoneKind, string][] = idents.map((i) => [i.kind, i.value]);
    for (const f of family) if (f.email) marks.push(["email", f.email]);
    await addTombstones(tx, ws, marks);
    const users = idents.filter((i) => i.kind === "user").map((i) => i.value);
    const anons = idents.filter((i) => i.kind === "anonymous").map((i) => i.value);
    // Besides the lead's own events: those not yet tied to a lead, that is pending ones and ones set
    // aside after failing (processed, with no lead), that name one of its identities.
    const events = await tx.query<{ seq: number; message_id: string; processed: boolean }>(
      `delete from events where workspace_id = $1 and (lead_id = any($2)
         or ((not processed or lead_id is null) and (user_id = any($3) or anonymous_id = any($4)
           or previous_id = any($3) or previous_id = any($4)))) returning seq, message_id, processed`,
      [ws, ids, users, anons],
    );
    const transitions = await tx.query(
      "delete from transitions where workspace_id = $1 and lead_id = any($2) returning seq",
      [ws, ids],
    );
    await tx.query("delete from identities where workspace_id = $1 and lead_id = any($2)", [ws, ids]);
    // Delivered notifications too: their payloads hold the lead's ids, scores and merge reasons
    // (which name its userIds and anonymousIds). Their idempotency keys are moot: tombstones stop
    // the lead from coming back.
    await tx.query("delete from outbox where workspace_id = $1 and lead_id = any($2)", [ws, ids]);
    // And their webhook deliveries, sent or not: each body is a copy of the lead.
    await tx.query("delete from webhook_deliveries where workspace_id = $1 and lead_id = any($2)", [ws, ids]);
    await tx.query(
      "delete from lead_merges where workspace_id = $1 and (from_lead = any($2) or into_lead = any($2))",
      [ws, ids],
    );
    // Nurture: enrollments, the emails (rendered with the person's traits) and their clicks,
    // consent history, standing and audience memberships. A suppression stays, without the lead,
    // so that the address is never mailed again (keeping an opt-out is what the law asks).
    await tx.query(
      `delete from email_clicks where workspace_id = $1 and attempt_id in
         (select id from email_attempts where workspace_id = $1 and lead_id = any($2))`,
      [ws, ids],
    );
    for (const table of [
      "email_attempts",
      "enrollments",
      "consent_changes",
      "nurture_leads",
      "audience_members",
      // Analytics rollups (sessions with their campaigns, funnel milestones, attribution credits).
      "touchpoints",
      "lead_funnel",
      "lead_paths",
      "stage_stays",
      "attribution_credits",
    ])
      await tx.query(`delete from ${table} where workspace_id = $1 and lead_id = any($2)`, [ws, ids]);
    await tx.query(
      "update email_suppressions set lead_id = null where workspace_id = $1 and lead_id = any($2)",
      [ws, ids],
    );
    await tx.query("delete from leads where workspace_id = $1 and id = any($2)", [ws, ids]);
    await tx.query(
      `insert into erasures (workspace_id, stage, was_mql, events_deleted, transitions_deleted)
       values ($1, $2, $3, $4, $5)`,
      [ws, lead.stage, lead.firstMqlAt !== null, events.length, transitions.length],
    );
    return {
      erased: ids,
      eventsDeleted: events.length,
      transitionsDeleted: transitions.length,
      /** Deleted events that were still pending: a request waiting for one is answered (see the route). */
      pendingDeleted: events.filter((e) => !e.processed).map((e) => ({ seq: e.seq, inputId: e.message_id })),
    };
  });
}
