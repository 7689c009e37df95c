import type { Queryable } from "../db/database.js";

export interface AccountRow {
  id: string;
  domain: string | null;
  traits: Record<string, unknown>;
}

/** The account a lead with this company domain joins: a `group` account first, then the oldest. */
const DOMAIN_ORDER = "(id like 'domain:%'), created_at";

/**
 * The accounts a batch's events name, read in at most two queries before the batch runs, and kept
 * current as it writes them. Most group calls repeat what their account already says, and most
 * identifies name a company that already has an account, so most events need no account query of
 * their own. The rows stay locked until the batch commits, as the queries they replace locked them:
 * accounts named by a group call `for update`, those matched by domain `for share`.
 */
export class AccountCache {
  /** null: known not to exist; absent: not read. */
  private readonly byId = new Map<string, AccountRow | null>();
  private readonly byDomain = new Map<string, AccountRow | null>();

  constructor(
    private readonly tx: Queryable,
    private readonly ws: string,
  ) {}

  async prefetch(ids: readonly string[], domains: readonly string[]): Promise<void> {
    if (ids.length > 0) {
      const rows = await this.tx.query<AccountRow>(
        "select id, domain, traits from accounts where workspace_id = $1 and id = any($2) order by id for update",
        [this.ws, ids],
      );
      for (const id of ids) this.byId.set(id, null);
      for (const r of rows) this.byId.set(r.id, r);
    }
    if (domains.length > 0) {
      const rows = await this.tx.query<AccountRow>(
        `select id, domain, traits from accounts where workspace_id = $1 and domain = any($2)
         order by domain, ${DOMAIN_ORDER} for share`,
        [this.ws, domains],
      );
      for (const d of domains) this.byDomain.set(d, null);
      for (const r of rows)
        if (this.byDomain.get(r.domain as string) === null) this.byDomain.set(r.domain as string, r);
    }
  }

  /** The account with this id as the batch last saw it; undefined when it was not read. */
  byGroupId(id: string): AccountRow | null | undefined {
    return this.byId.get(id);
  }

  /** The account a lead of this company domain joins (null: none yet), shared-locked. */
  async forDomain(domain: string): Promise<AccountRow | null> {
    const known = this.byDomain.get(domain);
    if (known !== undefined) return known;
    // Shared-locked: a group call changing the account's traits in another process waits until
    // this lead is linked, and then tells it (or this waits, and reads the new traits).
    const row =
      (
        await this.tx.query<AccountRow>(
          `select id, domain, traits from accounts where workspace_id = $1 and domain = $2
           order by ${DOMAIN_ORDER} limit 1 for share`,
          [this.ws, domain],
        )
      )[0] ?? null;
    this.byDomain.set(domain, row);
    return row;
  }

  /**
   * After the batch wrote an account: later events see it as written. The domains it had and has
   * are read again when next asked for, since the account a domain's leads join may have changed.
   */
  wrote(row: AccountRow, previousDomain: string | null): void {
    this.byId.set(row.id, row);
    for (const d of [previousDomain, row.domain]) if (d !== null) this.byDomain.delete(d);
  }

  /** A domain's implicit account, just made: the only account with that domain. */
  madeForDomain(row: AccountRow): void {
    this.byId.set(row.id, row);
    if (row.domain !== null) this.byDomain.set(row.domain, row);
  }
}
