import type { AccountInput, EventInput, LeadState } from "../engine/index.js";
import { type AccountRow, applyCall, groupCall, isImplicit, repeats } from "./account-cache.js";
import type { Batch, LeadContext } from "./batch.js";
import { companyDomain } from "./free-mail-domains.js";
import type { LeadRecord } from "./lead-record.js";

/**
 * Accounts. A `group` call links its lead to the account and merges the account's traits; a change
 * to those traits (not a call that repeats them) reaches every other member as an account input
 * (rescoring it). A lead without a group is matched to an account by its company email domain
 * (free mail excluded); when no account has that domain yet, an implicit `domain:<domain>` account
 * is made, and a later `group` account naming the domain takes its members over, each through an
 * account input processed in the member's own batch. Which account a lead is in is the engine's
 * call (`followAccount`), so the account shown is the one scored.
 */

function accountInput(id: string, at: number, account: AccountRow, member: boolean): AccountInput {
  return {
    kind: "account",
    id,
    at,
    groupId: account.id,
    traits: account.traits,
    ...(member ? { member } : {}),
    ...(isImplicit(account.id) ? { implicit: true } : {}),
  };
}

/** A lead's account as the leads table stores it. */
export type LeadAccount = Pick<LeadRecord, "accountId" | "accountSource">;

/** The account a score state puts its lead in, as the leads table stores it (a rescore writes it too). */
export function accountOf(s: LeadState["s"]): LeadAccount {
  return { accountId: s.gid, accountSource: s.gid === null ? null : s.gr === 2 ? "group" : "domain" };
}

/**
 * The lead's account is the one the engine scores it by (`ScoreState.gid`): its latest group call,
 * else its latest match by email domain, a real account before an implicit one. Set after each
 * input and nowhere else, so the stored account is always the engine's; a match the pipeline made
 * and the engine has not heard of yet is on its way as an account input, and the lead joins when
 * it is processed.
 */
export function followAccount(lead: LeadRecord): void {
  const s = lead.state?.s;
  if (!s) return;
  // A state stored before `gr` was kept: a lead linked by its own group call, as a replay finds.
  if (s.gr === undefined && s.gid !== null && s.gid === lead.accountId && lead.accountSource === "group")
    s.gr = 2;
  Object.assign(lead, accountOf(s));
}

/** After a `group` call: store the account's traits and tell the other members. */
export async function applyGroupCall(
  batch: Batch,
  ctx: LeadContext,
  e: EventInput,
  notify: boolean,
): Promise<void> {
  const groupId = e.groupId as string;
  const call = groupCall(groupId, e.traits);
  // Written only when it changes something; most group calls repeat what the account already
  // says, and then no member needs to hear of it. The batch read the account before it ran.
  const known = await batch.accounts.forGroupId(groupId);
  if (known && repeats(known, call.traits, call.named)) {
    linkToGroup(batch, ctx, e, known, notify);
    return;
  }
  const account = applyCall(known, call);
  batch.accounts.change(account, known?.domain ?? null);
  linkToGroup(batch, ctx, e, account, notify);

  // The members hear of the new traits; leads matched by the account's domain (when it has one)
  // join it as they do. Both are told by a derived input, which their own batch processes under
  // their lock (`matchesByDomain`): this batch locks no lead it did not load. Leads of this batch
  // are told here (the table does not have them as they are now); the others once the batch has
  // run (`tellAccountMembers`), in one read for all its changed accounts.
  const local: string[] = [];
  for (const member of batch.leads.values()) {
    const l = member.lead;
    if (member === ctx || l.mergedInto !== null) continue;
    const joins = account.domain !== null && l.emailDomain === account.domain && l.accountSource !== "group";
    if (joins || l.accountId === groupId) local.push(l.id);
  }
  batch.accountChanges.push({ account, callerId: ctx.lead.id, e, notify, local, loaded: batch.leads.size });
}

/** A `group` call that changed its account, whose other members the batch tells when it has run. */
export interface AccountChange {
  account: AccountRow;
  /** The lead that made the call (it is not told). */
  callerId: string;
  e: EventInput;
  notify: boolean;
  /** The batch's leads to tell, as they were at the call. */
  local: string[];
  /** How many leads the batch had loaded at the call (the first so many are told from `local`). */
  loaded: number;
}

/**
 * Tells the members of every account the batch's group calls changed, and the leads of its domain,
 * in the order of the calls: the batch's own leads as they were at the call, the others as the
 * table has them (the batch writes leads only when it ends, so one read after its events sees
 * what a read at each call would have). The batch holds each account and its domain alone, so no
 * lead is joining one in another batch as this reads.
 */
export async function tellAccountMembers(batch: Batch): Promise<void> {
  const changes = batch.accountChanges;
  if (changes.length === 0) return;
  const rows = await batch.tx.query<{ i: number; id: string }>(
    `with c as (select * from unnest($2::int[], $3::text[], $4::text[], $5::text[]) as c(i, gid, domain, caller))
     select c.i, l.id from c join leads l on l.workspace_id = $1 and l.account_id = c.gid
     where l.merged_into is null and l.id <> c.caller
     union
     select c.i, l.id from c join leads l on l.workspace_id = $1 and l.email_domain = c.domain
     where (l.account_id is null or l.account_source = 'domain') and l.merged_into is null and l.id <> c.caller`,
    [
      batch.ws,
      changes.map((_, i) => i),
      changes.map((c) => c.account.id),
      changes.map((c) => c.account.domain),
      changes.map((c) => c.callerId),
    ],
  );
  const others = changes.map((): string[] => []);
  for (const r of rows) others[r.i]?.push(r.id);
  const position = new Map<string, number>();
  for (const id of batch.leads.keys()) position.set(id, position.size);
  for (const [i, c] of changes.entries()) {
    const tell = (leadId: string) =>
      batch.derived.push({
        leadId,
        input: accountInput(`${c.e.id}#account@${leadId}`, c.e.at, c.account, true),
        notify: c.notify,
      });
    for (const id of c.local) tell(id);
    for (const id of others[i] ?? []) if ((position.get(id) ?? c.loaded) >= c.loaded) tell(id);
  }
}

/**
 * Before a derived account input that names an account the lead is not in (see `applyGroupCall`):
 * whether the lead's company domain is still the account's. When it is not (the lead's email or the
 * account's domain changed since), the input is dropped, unprocessed, so the engine never moves the
 * lead there. A lead with a group call of its own stays in its group either way (`followAccount`).
 */
export function matchesByDomain(batch: Batch, lead: LeadRecord, input: AccountInput): boolean {
  const account = batch.accounts.byGroupId(input.groupId);
  return !!account?.domain && lead.emailDomain === account.domain;
}

/**
 * The group call's own lead joins the account when the engine folds the call. The call names only
 * what it sets: a lead joining a known account learns the traits it already has.
 */
function linkToGroup(
  batch: Batch,
  ctx: LeadContext,
  e: EventInput,
  account: AccountRow,
  notify: boolean,
): void {
  if (Object.keys(account.traits).some((k) => !(k in (e.traits ?? {}))))
    batch.derived.push({
      leadId: ctx.lead.id,
      input: accountInput(`${e.id}#account@${ctx.lead.id}`, e.at, account, true),
      notify,
    });
}

/** When a lead without a group learns its email: match it to its company's account. */
export async function matchByDomain(
  batch: Batch,
  ctx: LeadContext,
  e: EventInput,
  notify: boolean,
): Promise<void> {
  const lead = ctx.lead;
  if (lead.email === null) return;
  lead.emailDomain = companyDomain(lead.email);
  ctx.dirty = true;
  if (lead.accountSource === "group" || lead.emailDomain === null) return;
  const domain = lead.emailDomain;
  const account = (await batch.accounts.forDomain(domain)) ?? (await batch.accounts.makeForDomain(domain));
  if (lead.accountId === account.id || !batch.joining(lead.id, account.id)) return;
  batch.derived.push({
    leadId: lead.id,
    input: accountInput(`${e.id}#domain@${lead.id}`, e.at, account, true),
    notify,
  });
}
