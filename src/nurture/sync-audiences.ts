import { isContention } from "../db/contention.js";
import type { Database, Queryable } from "../db/database.js";
import { holdMembership, type MembershipChange, writeChanges } from "./audience-changes.js";
import { type ActiveAudience, activeAudiences } from "./audience-store.js";
import { conditionContext, type LeadView, loadLeadViews, withRecentEvents } from "./lead-view.js";

/**
 * Audience membership kept current: `syncAudiences` evaluates every active audience for leads that
 * changed and writes the difference (members joined and left, one outbox message each) in the
 * caller's transaction; `rebuildAudience` does the same for one audience over every lead of the
 * workspace, right after a new version is saved. A merged-away lead, or one that no longer exists,
 * is in no audience.
 */

export interface SyncResult {
  joined: number;
  left: number;
}

const pair = (audienceId: string, leadId: string) => `${audienceId}\n${leadId}`;

/**
 * Diffs what the audiences say with what `audience_members` holds, for these leads (and for `gone`:
 * ids of leads that no longer exist), and writes the difference: one query for the current
 * membership, one insert, one delete and one outbox insert at most. Inserts and deletes report what
 * they really changed, so a concurrent writer never makes a message twice.
 */
async function apply(
  tx: Queryable,
  ws: string,
  audiences: readonly ActiveAudience[],
  leads: readonly LeadView[],
  gone: readonly string[],
  now: number,
): Promise<SyncResult> {
  if (audiences.length === 0 || leads.length + gone.length === 0) return { joined: 0, left: 0 };
  const byId = new Map<string, LeadView>();
  for (const l of leads) byId.set(l.id, l);
  await withRecentEvents(tx, ws, leads, Math.max(0, ...audiences.map((a) => a.eventWindow)), now);
  const ids = [...byId.keys(), ...gone.filter((id) => !byId.has(id))];
  const current = await tx.query<{ audience_id: string; lead_id: string }>(
    `select audience_id, lead_id from audience_members
     where workspace_id = $1 and lead_id = any($2::text[]) and audience_id = any($3::text[])`,
    [ws, ids, audiences.map((a) => a.id)],
  );
  const have = new Set(current.map((r) => pair(r.audience_id, r.lead_id)));
  const join: [string, string][] = [];
  const leave: [string, string][] = [];
  for (const id of ids) {
    const lead = byId.get(id);
    const ctx = lead && lead.mergedInto === null ? conditionContext(lead, now) : null;
    for (const a of audiences) {
      const wanted = ctx !== null && a.predicate(ctx);
      const member = have.has(pair(a.id, id));
      if (wanted && !member) join.push([a.id, id]);
      else if (!wanted && member) leave.push([a.id, id]);
    }
  }
  const joined =
    join.length === 0
      ? []
      : await tx.query<{ audience_id: string; lead_id: string }>(
          `insert into audience_members (workspace_id, audience_id, lead_id, joined_at)
           select $1, t.a, t.l, $4 from unnest($2::text[], $3::text[]) as t(a, l)
           on conflict do nothing returning audience_id, lead_id`,
          [ws, join.map((j) => j[0]), join.map((j) => j[1]), now],
        );
  const left =
    leave.length === 0
      ? []
      : await tx.query<{ audience_id: string; lead_id: string }>(
          `delete from audience_members m using unnest($2::text[], $3::text[]) as t(a, l)
           where m.workspace_id = $1 and m.audience_id = t.a and m.lead_id = t.l
           returning m.audience_id, m.lead_id`,
          [ws, leave.map((j) => j[0]), leave.map((j) => j[1])],
        );
  const versions = new Map(audiences.map((a) => [a.id, a.version]));
  const change =
    (kind: MembershipChange["kind"]) =>
    (r: { audience_id: string; lead_id: string }): MembershipChange => {
      const lead = byId.get(r.lead_id);
      return {
        kind,
        audienceId: r.audience_id,
        audienceVersion: versions.get(r.audience_id) ?? 0,
        leadId: r.lead_id,
        userId: lead?.userId ?? null,
        email: lead?.email ?? null,
      };
    };
  await writeChanges(tx, ws, [...joined.map(change("joined")), ...left.map(change("left"))], now);
  return { joined: joined.length, left: left.length };
}

/** Brings these leads' membership of every active audience up to date, in the caller's transaction. */
export async function syncAudiences(
  tx: Queryable,
  ws: string,
  leads: readonly LeadView[],
  now: number,
): Promise<SyncResult> {
  if (leads.length === 0) return { joined: 0, left: 0 };
  await holdMembership(tx, ws, "shared");
  return apply(tx, ws, await activeAudiences(tx, ws), leads, [], now);
}

/** As `syncAudiences`, by lead id: the views are loaded here, and an id with no lead leaves everything. */
export async function syncAudiencesFor(
  tx: Queryable,
  ws: string,
  leadIds: readonly string[],
  now: number,
): Promise<SyncResult> {
  if (leadIds.length === 0) return { joined: 0, left: 0 };
  await holdMembership(tx, ws, "shared");
  const audiences = await activeAudiences(tx, ws);
  if (audiences.length === 0) return { joined: 0, left: 0 };
  const views = await loadLeadViews(tx, ws, leadIds);
  const found = new Set(views.map((v) => v.id));
  return apply(
    tx,
    ws,
    audiences,
    views,
    leadIds.filter((id) => !found.has(id)),
    now,
  );
}

/** A transaction that lost a race with another process runs again. */
async function retrying<T>(db: Database, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(fn);
    } catch (e) {
      if (attempt >= 5 || !isContention(e)) throw e;
    }
  }
}

/**
 * Evaluates one audience (its active version) for every lead of the workspace, `pageSize` leads by
 * id per transaction, then drops members whose lead no longer exists. Returns the changes made.
 */
export async function rebuildAudience(
  db: Database,
  ws: string,
  audienceId: string,
  now: number,
  pageSize = 1000,
): Promise<SyncResult> {
  const total = { joined: 0, left: 0 };
  const add = (r: SyncResult) => {
    total.joined += r.joined;
    total.left += r.left;
  };
  let after = "";
  for (;;) {
    const page = await retrying(db, async (tx) => {
      await holdMembership(tx, ws, "exclusive");
      const audience = (await activeAudiences(tx, ws)).find((a) => a.id === audienceId);
      if (!audience) return null;
      const rows = await tx.query<{ id: string }>(
        "select id from leads where workspace_id = $1 and id > $2 order by id limit $3",
        [ws, after, pageSize],
      );
      const ids = rows.map((r) => r.id);
      const result = await apply(tx, ws, [audience], await loadLeadViews(tx, ws, ids), [], now);
      return { result, last: ids.at(-1), count: ids.length };
    });
    if (page === null) return total;
    add(page.result);
    if (page.count < pageSize || page.last === undefined) break;
    after = page.last;
  }
  // Members whose lead was erased since they joined.
  add(
    await retrying(db, async (tx) => {
      await holdMembership(tx, ws, "exclusive");
      const audience = (await activeAudiences(tx, ws)).find((a) => a.id === audienceId);
      if (!audience) return { joined: 0, left: 0 };
      const orphans = await tx.query<{ lead_id: string }>(
        `select m.lead_id from audience_members m
         where m.workspace_id = $1 and m.audience_id = $2
           and not exists (select 1 from leads l where l.workspace_id = m.workspace_id and l.id = m.lead_id)`,
        [ws, audienceId],
      );
      return apply(
        tx,
        ws,
        [audience],
        [],
        orphans.map((o) => o.lead_id),
        now,
      );
    }),
  );
  return total;
}
