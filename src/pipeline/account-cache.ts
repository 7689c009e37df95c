import { isDeepStrictEqual } from "node:util";
import { lockAccounts } from "../db/advisory-locks.js";
import { LostRace } from "../db/contention.js";
import type { Queryable } from "../db/database.js";
import { insertRows } from "../db/insert-rows.js";
import { accountDomain } from "./free-mail-domains.js";

export interface AccountRow {
  id: string;
  domain: string | null;
  traits: Record<string, unknown>;
}

/** A `group` call as the account sees it: the traits it sets and the domain they name. */
export interface GroupCall {
  groupId: string;
  traits: Record<string, unknown>;
  named: string | null;
}

/** A `group` call's account change: the traits it sets, and the domain they name. */
export function groupCall(groupId: string, traits: Record<string, unknown> = {}): GroupCall {
  return { groupId, traits, named: accountDomain(traits) };
}

/** What a batch's events may do to accounts, known before it runs. */
export interface AccountNeeds {
  /** The group calls, in the order the batch runs them. */
  groupCalls: GroupCall[];
  /** The company domains its identifies name: their leads join (or make) the domain's account. */
  domains: string[];
  /** Accounts that leads join through a derived account input (the domain match is checked). */
  joins: string[];
}

type Mode = "shared" | "exclusive";

const IMPLICIT_PREFIX = "domain:";
/** The id of a company domain's implicit account, made when its first lead has no account to join. */
export const implicitId = (domain: string): string => `${IMPLICIT_PREFIX}${domain}`;
export const isImplicit = (id: string): boolean => id.startsWith(IMPLICIT_PREFIX);

/** The account a lead with this company domain joins: a `group` account first, then the oldest. */
const DOMAIN_ORDER = `(id like '${IMPLICIT_PREFIX}%'), created_at`;

/**
 * Whether a group call leaves its account as it was (jsonb's `||` merges keys as spread does), so
 * that nothing is written and no member needs to hear of it. Most group calls repeat their account.
 */
export function repeats(
  known: AccountRow | null | undefined,
  traits: Record<string, unknown>,
  named: string | null,
): boolean {
  return (
    !!known &&
    (named === null || named === known.domain) &&
    isDeepStrictEqual({ ...known.traits, ...traits }, known.traits)
  );
}

/** The account after a group call that does not repeat it (as the upsert of jsonb `||` would leave it). */
export function applyCall(known: AccountRow | null | undefined, c: GroupCall): AccountRow {
  return {
    id: c.groupId,
    domain: c.named ?? known?.domain ?? null,
    traits: { ...known?.traits, ...c.traits },
  };
}

/** The accounts the group calls write, run in order against these rows (as `applyGroupCall` does). */
function writtenBy(calls: readonly GroupCall[], rows: ReadonlyMap<string, AccountRow | null>): Set<string> {
  const current = new Map(rows);
  const written = new Set<string>();
  for (const c of calls) {
    const known = current.get(c.groupId) ?? null;
    if (repeats(known, c.traits, c.named)) continue;
    written.add(c.groupId);
    current.set(c.groupId, applyCall(known, c));
  }
  return written;
}

/**
 * The account keys a batch holds. A group call that changes its account holds the account and its
 * domains alone: it tells the members, and a lead joining by that domain in another batch must
 * either be among them or read the new traits. One that repeats its account, and a lead joining by
 * domain, hold them shared; a domain with no account yet is held alone, since its first lead makes one.
 */
function keysFor(
  needs: AccountNeeds,
  byId: ReadonlyMap<string, AccountRow | null>,
  byDomain: ReadonlyMap<string, AccountRow | null>,
): Map<string, Mode> {
  const keys = new Map<string, Mode>();
  const want = (key: string, mode: Mode) => {
    if (keys.get(key) !== "exclusive") keys.set(key, mode);
  };
  // A domain held alone may come to have no account in this batch (none had it, or a group call
  // moves its account off it): its next lead then makes its implicit account (`makeForDomain`).
  const wantDomain = (d: string, mode: Mode) => {
    want(`d:${d}`, mode);
    if (mode === "exclusive") want(`g:${implicitId(d)}`, "exclusive");
  };
  const written = writtenBy(needs.groupCalls, byId);
  for (const c of needs.groupCalls) {
    if (!written.has(c.groupId)) {
      want(`g:${c.groupId}`, "shared");
      continue;
    }
    want(`g:${c.groupId}`, "exclusive");
    for (const d of [byId.get(c.groupId)?.domain, c.named]) if (d) wantDomain(d, "exclusive");
  }
  for (const id of needs.joins) want(`g:${id}`, "shared");
  for (const d of needs.domains) wantDomain(d, byDomain.get(d) ? "shared" : "exclusive");
  return keys;
}

/**
 * The accounts a batch's events name, read before the batch runs and kept current as it writes
 * them. Most group calls repeat what their account already says, and most identifies name a
 * company that already has an account, so most events need no account query of their own.
 *
 * Across processes, accounts are serialized by advisory keys (`lockAccounts`) rather than row locks:
 * a batch works out from a first read which accounts and domains it may write, takes all its keys
 * in one pass before it locks its leads, and reads the rows again. Nothing in the batch then waits
 * on an account, so two batches cannot deadlock over one (row locks taken as the batch went did,
 * and four processes spent most of their time in deadlock timeouts). If another batch changed an
 * account between the two reads so that this one now needs a key it took shared, it runs again.
 */
export class AccountCache {
  /** null: known not to exist; absent: not read. */
  private readonly byId = new Map<string, AccountRow | null>();
  private readonly byDomain = new Map<string, AccountRow | null>();
  private held = new Map<string, Mode>();
  /** Accounts the batch changed and has not written yet (`flush`). */
  private readonly staged = new Map<string, AccountRow>();
  /** Domains the batch knew the account of until a change made it the database's call again. */
  private readonly changedDomains = new Set<string>();

  constructor(
    private readonly tx: Queryable,
    private readonly ws: string,
  ) {}

  /** Takes the batch's account keys and reads the accounts (see the class comment). */
  async prepare(needs: AccountNeeds): Promise<void> {
    const domains = [...new Set(needs.domains)];
    // A domain's implicit account id is read too, for a domain that turns out to have no account.
    const ids = [
      ...new Set([...needs.groupCalls.map((c) => c.groupId), ...needs.joins, ...domains.map(implicitId)]),
    ];
    await this.read(ids, domains);
    const keys = keysFor(needs, this.byId, this.byDomain);
    await lockAccounts(this.tx, this.ws, keys);
    this.held = keys;
    this.byId.clear();
    this.byDomain.clear();
    await this.read(ids, domains);
    for (const [key, mode] of keysFor(needs, this.byId, this.byDomain))
      if (mode === "exclusive") this.mustWrite(key);
  }

  private async read(ids: readonly string[], domains: readonly string[]): Promise<void> {
    // A domain's account is the database's call (`DOMAIN_ORDER`): it must have the batch's changes.
    await this.flush();
    if (ids.length > 0) {
      const rows = await this.tx.query<AccountRow>(
        "select id, domain, traits from accounts where workspace_id = $1 and id = any($2)",
        [this.ws, ids],
      );
      for (const id of ids) this.byId.set(id, null);
      for (const r of rows) this.byId.set(r.id, r);
    }
    if (domains.length > 0) {
      const rows = await this.tx.query<AccountRow>(
        `select id, domain, traits from accounts where workspace_id = $1 and domain = any($2)
         order by domain, ${DOMAIN_ORDER}`,
        [this.ws, domains],
      );
      for (const d of domains) this.byDomain.set(d, null);
      for (const r of rows)
        if (this.byDomain.get(r.domain as string) === null) this.byDomain.set(r.domain as string, r);
    }
  }

  /** Before the batch writes an account (`g:<id>`) or a domain's account (`d:<domain>`). */
  mustWrite(key: string): void {
    if (this.held.get(key) !== "exclusive")
      throw new LostRace(`account key ${key} changed while the batch took its locks`);
  }

  /** The account with this id as the batch last saw it; undefined when it was not read. */
  byGroupId(id: string): AccountRow | null | undefined {
    return this.byId.get(id);
  }

  /** The account with this id (null: none yet), read when the batch has not read it. */
  async forGroupId(id: string): Promise<AccountRow | null> {
    if (!this.byId.has(id)) await this.read([id], []);
    return this.byId.get(id) ?? null;
  }

  /**
   * The account a lead of this company domain joins (null: none yet). A domain not known is read
   * together with every domain a change made unknown, which later leads of the batch may ask for.
   */
  async forDomain(domain: string): Promise<AccountRow | null> {
    const known = this.byDomain.get(domain);
    if (known !== undefined) return known;
    const domains = [...new Set([domain, ...this.changedDomains])];
    this.changedDomains.clear();
    await this.read([], domains);
    return this.byDomain.get(domain) ?? null;
  }

  /**
   * A group call changed an account: later events see it as changed, and it is written with the
   * batch's other changes (`flush`). The domains it had and has are read again when next asked
   * for, since the account a domain's leads join may have changed.
   */
  change(row: AccountRow, previousDomain: string | null): void {
    this.mustWrite(`g:${row.id}`);
    this.byId.set(row.id, row);
    this.staged.set(row.id, row);
    for (const d of [previousDomain, row.domain])
      if (d !== null && this.byDomain.delete(d)) this.changedDomains.add(d);
  }

  /**
   * Writes the changed accounts, in one statement. The batch holds their keys alone, so each row
   * is as the batch last saw it plus its own calls: the merged traits are written as they are.
   */
  async flush(): Promise<void> {
    if (this.staged.size === 0) return;
    const rows = [...this.staged.values()].map((a) => [this.ws, a.id, a.domain, JSON.stringify(a.traits)]);
    this.staged.clear();
    await insertRows(
      this.tx,
      "accounts",
      ["workspace_id", "id", "domain", "traits"],
      rows,
      `on conflict (workspace_id, id) do update
         set traits = excluded.traits, domain = excluded.domain, updated_at = now()`,
    );
  }

  /**
   * Makes a company domain's implicit account, for its first lead (`forDomain` found none); it is
   * written with the batch's account changes (`flush`), one statement for all. The batch holds the
   * domain and the id alone, so no other batch makes either meanwhile. An account that already has
   * the id (a group call named one so, with another domain) is joined as it is.
   */
  async makeForDomain(domain: string): Promise<AccountRow> {
    this.mustWrite(`d:${domain}`);
    const id = implicitId(domain);
    let row = await this.forGroupId(id);
    if (!row) {
      row = { id, domain, traits: { domain } };
      this.mustWrite(`g:${id}`);
      this.byId.set(id, row);
      this.staged.set(id, row);
    }
    this.byDomain.set(domain, row);
    return row;
  }
}
