import type { AccountInput, EventInput, LeadState } from "../engine/index.js";
import { type AccountRow, repeats } from "./account-cache.js";
import type { Batch, LeadContext } from "./batch.js";
import { accountDomain, companyDomain } from "./free-mail-domains.js";
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

const DOMAIN_PREFIX = "domain:";

function accountInput(id: string, at: number, account: AccountRow, member: boolean): AccountInput {
  return {
    kind: "account",
    id,
    at,
    groupId: account.id,
    traits: account.traits,
    ...(member ? { member } : {}),
    ...(account.id.startsWith(DOMAIN_PREFIX) ? { implicit: true } : {}),
  };
}

/** The account a score state puts its lead in, as the leads table stores it (a rescore writes it too). */
export function accountOf(s: LeadState["s"]): Pick<LeadRecord, "accountId" | "accountSource"> {
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
  const traits = e.traits ?? {};
  const { tx, ws } = batch;
  const named = accountDomain(traits);
  // Written only when it changes something; most group calls repeat what the account already
  // says, and then no member needs to hear of it. The batch read the account before it ran.
  const known = batch.accounts.byGroupId(groupId);
  if (known && repeats(known, traits, named)) {
    linkToGroup(batch, ctx, e, known, notify);
    return;
  }
  batch.accounts.mustWrite(`g:${groupId}`);
  const written = await tx.query<AccountRow>(
    `insert into accounts (workspace_id, id, domain, traits) values ($1, $2, $3, $4)
     on conflict (workspace_id, id) do update
       set traits = accounts.traits || excluded.traits,
           domain = coalesce(excluded.domain, accounts.domain), updated_at = now()
       where accounts.traits || excluded.traits is distinct from accounts.traits
          or coalesce(excluded.domain, accounts.domain) is distinct from accounts.domain
     returning id, domain, traits`,
    [ws, groupId, named, JSON.stringify(traits)],
  );
  const changed = written.length > 0;
  const account = (written[0] ??
    (
      await tx.query<AccountRow>(
        "select id, domain, traits from accounts where workspace_id = $1 and id = $2",
        [ws, groupId],
      )
    )[0]) as AccountRow;
  batch.accounts.wrote(account, known?.domain ?? null);
  linkToGroup(batch, ctx, e, account, notify);
  if (!changed) return;

  // The members hear of the new traits; leads matched by the account's domain (when it has one)
  // join it as they do. Both are told by a derived input, which their own batch processes under
  // their lock (`matchesByDomain`): this batch locks no lead it did not load. The batch holds the
  // account and its domain alone, so no lead is joining it in another batch as this reads.
  const others = await tx.query<{ id: string }>(
    `select id from leads where workspace_id = $1 and id <> $3 and merged_into is null
       and (account_id = $2${
         account.domain === null
           ? ""
           : " or (email_domain = $4 and (account_id is null or account_source = 'domain'))"
       })`,
    account.domain === null ? [ws, groupId, ctx.lead.id] : [ws, groupId, ctx.lead.id, account.domain],
  );
  // Leads of this batch: the table does not have them as they are now; they join and hear of the
  // change here.
  const tell = (leadId: string) =>
    batch.derived.push({
      leadId,
      input: accountInput(`${e.id}#account@${leadId}`, e.at, account, true),
      notify,
    });
  const told = new Set<string>();
  for (const member of batch.leads.values()) {
    const l = member.lead;
    if (member === ctx || l.mergedInto !== null) continue;
    told.add(l.id);
    const joins = account.domain !== null && l.emailDomain === account.domain && l.accountSource !== "group";
    if (joins || l.accountId === groupId) tell(l.id);
  }
  for (const { id } of others) if (!told.has(id)) tell(id);
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
  const { tx, ws } = batch;
  const domain = lead.emailDomain;
  let account = await batch.accounts.forDomain(domain);
  if (!account) {
    batch.accounts.mustWrite(`d:${domain}`);
    account = (
      await tx.query<AccountRow>(
        `insert into accounts (workspace_id, id, domain, traits) values ($1, $2, $3, $4)
         on conflict (workspace_id, id) do update set updated_at = now() returning id, domain, traits`,
        [ws, `${DOMAIN_PREFIX}${domain}`, domain, JSON.stringify({ domain })],
      )
    )[0] as AccountRow;
    batch.accounts.madeForDomain(account);
  }
  if (lead.accountId === account.id || !batch.joining(lead.id, account.id)) return;
  batch.derived.push({
    leadId: lead.id,
    input: accountInput(`${e.id}#domain@${lead.id}`, e.at, account, true),
    notify,
  });
}
