import type { Batch, LeadContext } from "./batch.js";
import { mergeLeads } from "./merge-leads.js";

/**
 * Finds (or creates) the lead an event belongs to, merging leads where the identity rules say so:
 * - a profile is created on the first event of an unknown identity;
 * - anonymous-only history merges into a known lead when a call ties the anonymousId to its userId;
 * - two leads that each have a userId merge only through `alias`;
 * - an anonymousId already tied to another userId starts a new lead, flagged `shared-browser`
 *   (colleagues share browsers), and the anonymousId stays where it was.
 */
export interface Identities {
  userId: string | null;
  anonymousId: string | null;
  previousId: string | null;
  at: number;
  /** The event's seq: a merge it causes records it (`lead_merges.event_seq`). */
  seq: number;
  messageId: string;
  /** False for imported history: a merge is recorded, but no notification is sent. */
  notify: boolean;
}

function claimUser(batch: Batch, ctx: LeadContext, userId: string, at: number) {
  batch.bind("user", userId, ctx.lead.id);
  if (ctx.lead.userId === null || at >= (ctx.lead.lastEventAt ?? Number.NEGATIVE_INFINITY))
    ctx.lead.userId = userId;
  ctx.dirty = true;
}

function flag(ctx: LeadContext, name: string) {
  if (!ctx.lead.flags.includes(name)) ctx.lead.flags = [...ctx.lead.flags, name];
  ctx.dirty = true;
}

export async function resolveLead(batch: Batch, e: Identities): Promise<LeadContext> {
  if (e.previousId !== null && e.userId !== null) return resolveAlias(batch, e, e.userId, e.previousId);
  const byUser = e.userId === null ? undefined : await batch.identity("user", e.userId);
  const byAnon = e.anonymousId === null ? undefined : await batch.identity("anonymous", e.anonymousId);

  if (byUser && byAnon && byUser !== byAnon) {
    if (byAnon.lead.userId === null)
      return mergeLeads(batch, byAnon, byUser, e, `anonymous ${e.anonymousId} identified as ${e.userId}`);
    flag(byUser, "shared-browser");
    return byUser;
  }
  if (byUser) {
    if (e.anonymousId !== null && !byAnon) batch.bind("anonymous", e.anonymousId, byUser.lead.id);
    return byUser;
  }
  if (byAnon) {
    if (e.userId === null) return byAnon;
    if (byAnon.lead.userId === null) {
      claimUser(batch, byAnon, e.userId, e.at);
      return byAnon;
    }
    // The browser belongs to someone else: a new lead for this user, flagged.
    const fresh = batch.createLead(e.at);
    claimUser(batch, fresh, e.userId, e.at);
    flag(fresh, "shared-browser");
    return fresh;
  }
  const fresh = batch.createLead(e.at);
  if (e.userId !== null) claimUser(batch, fresh, e.userId, e.at);
  if (e.anonymousId !== null) batch.bind("anonymous", e.anonymousId, fresh.lead.id);
  return fresh;
}

/** `alias`: `previousId` (a userId or an anonymousId) is the same person as `userId`. */
async function resolveAlias(batch: Batch, e: Identities, userId: string, previousId: string) {
  const target = await batch.identity("user", userId);
  const previous =
    (await batch.identity("user", previousId)) ?? (await batch.identity("anonymous", previousId));
  if (target && previous && target !== previous)
    return mergeLeads(batch, previous, target, e, `alias ${previousId} → ${userId}`);
  if (target) {
    if (!previous) batch.bind("anonymous", previousId, target.lead.id);
    return target;
  }
  if (previous) {
    claimUser(batch, previous, userId, e.at);
    return previous;
  }
  const fresh = batch.createLead(e.at);
  claimUser(batch, fresh, userId, e.at);
  batch.bind("anonymous", previousId, fresh.lead.id);
  return fresh;
}
