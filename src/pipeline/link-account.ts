import { isDeepStrictEqual } from "node:util";
import type { AccountInput, EventInput } from "../engine/index.js";
import type { AccountRow } from "./account-cache.js";
import type { Batch, LeadContext } from "./batch.js";
import { accountDomain, companyDomain } from "./free-mail-domains.js";

/**
 * Accounts. A `group` call links its lead to the account and merges the account's traits; a change
 * to those traits (not a call that repeats them) reaches every other member as an account input
 * (rescoring it). A lead without a
 * group is matched to an account by its company email domain (free mail excluded); when no account
 * has that domain yet, an implicit `domain:<domain>` account is made, and a later `group` account
 * naming the domain takes its members over.
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
  };
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
  // Written only when it changes something (the row is locked either way); most group calls
  // repeat what the account already says, and then no member needs to hear of it. The batch read
  // the account before it ran, so a repeat needs no query (jsonb's `||` merges keys as spread does).
  const known = batch.accounts.byGroupId(groupId);
  if (
    known &&
    (named === null || named === known.domain) &&
    isDeepStrictEqual({ ...known.traits, ...traits }, known.traits)
  ) {
    linkToGroup(batch, ctx, e, known, notify);
    return;
  }
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

  // Leads matched by the account's domain join it (when it is new or its domain changed; a lead
  // matched by domain later finds it first, see `forDomain`). The update waits for a batch of
  // another process that holds one of them, then sees it as that batch left it, so none is missed.
  if (account.domain !== null)
    await tx.query(
      `update leads set account_id = $2, account_source = 'domain'
       where workspace_id = $1 and email_domain = $3 and id <> $4 and merged_into is null
         and (account_id is null or account_source = 'domain') and account_id is distinct from $2`,
      [ws, groupId, account.domain, ctx.lead.id],
    );
  // Members, those who just joined and those already in it, hear of the new traits.
  const members = await tx.query<{ id: string }>(
    "select id from leads where workspace_id = $1 and account_id = $2 and id <> $3 and merged_into is null",
    [ws, groupId, ctx.lead.id],
  );
  for (const { id } of members)
    batch.derived.push({
      leadId: id,
      input: accountInput(`${e.id}#account@${id}`, e.at, account, true),
      notify,
    });
  // Leads of this batch: the table does not have them yet (or not as they are now), so the query
  // above may have missed them; they join and hear of the change the same way.
  const told = new Set(members.map((m) => m.id));
  for (const member of batch.leads.values()) {
    const l = member.lead;
    if (member === ctx || l.mergedInto !== null) continue;
    const joins = account.domain !== null && l.emailDomain === account.domain && l.accountSource !== "group";
    if (joins) {
      l.accountId = groupId;
      l.accountSource = "domain";
    } else if (l.accountId !== groupId) continue;
    if (told.has(l.id)) continue;
    told.add(l.id);
    batch.derived.push({
      leadId: l.id,
      input: accountInput(`${e.id}#account@${l.id}`, e.at, account, true),
      notify,
    });
  }
}

/** The group call's own lead joins the account. */
function linkToGroup(
  batch: Batch,
  ctx: LeadContext,
  e: EventInput,
  account: AccountRow,
  notify: boolean,
): void {
  ctx.lead.accountId = account.id;
  ctx.lead.accountSource = "group";
  ctx.dirty = true;
  // The call names only what it sets: a lead joining a known account learns the traits it already has.
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
    account = (
      await tx.query<AccountRow>(
        `insert into accounts (workspace_id, id, domain, traits) values ($1, $2, $3, $4)
         on conflict (workspace_id, id) do update set updated_at = now() returning id, domain, traits`,
        [ws, `${DOMAIN_PREFIX}${domain}`, domain, JSON.stringify({ domain })],
      )
    )[0] as AccountRow;
    batch.accounts.madeForDomain(account);
  }
  if (lead.accountId === account.id) return;
  lead.accountId = account.id;
  lead.accountSource = "domain";
  batch.derived.push({
    leadId: lead.id,
    input: accountInput(`${e.id}#domain@${lead.id}`, e.at, account, true),
    notify,
  });
}
