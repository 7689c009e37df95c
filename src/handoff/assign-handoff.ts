import { randomUUID } from "node:crypto";
import { DateTime } from "luxon";
import type { Queryable } from "../db/database.js";
import { writeOutbox } from "../db/outbox.js";
import type { Grade, TraitValue } from "../engine/index.js";
import { scheduleJob } from "../scheduler/schedule-job.js";
import type { Sla } from "./business-calendar.js";
import { recordHistory } from "./handoff-history.js";
import { handoffMessage } from "./handoff-messages.js";
import { type AccountToRoute, type Candidate, type RoutingDecision, routeLead } from "./route-lead.js";
import type { Routing, Team } from "./routing-spec.js";
import { type ActiveRouting, activeRouting } from "./routing-store.js";
import type { RouteJob } from "./schedule-routing.js";
import { dueAt } from "./sla-due.js";

/**
 * Turning an MQL into a handoff: the `handoff.route` job, scheduled in the transaction that stores
 * the MQL transition, routes the lead, stores the handoff with its due time, starts the SLA timer
 * (a `handoff.sla` job at the due time) and queues `handoff.assigned`. Routing is serialized per
 * workspace, so round robin and capacity counts are exact across processes.
 */

export const SLA_JOB = "handoff.sla";

interface LeadRow {
  id: string;
  stage: string;
  traits: Record<string, TraitValue>;
  scores: Record<string, number>;
  grade: Grade | null;
  account_id: string | null;
  merged_into: string | null;
}

/**
 * The lead, following merges to the one that absorbed it, each row locked: a merge in another
 * process either commits first (and is followed here) or waits until this handoff is stored (and
 * then moves it to the surviving lead).
 */
async function lockLiveLead(tx: Queryable, ws: string, id: string): Promise<LeadRow | null> {
  let current = id;
  for (let hops = 0; hops < 100; hops++) {
    const rows = await tx.query<LeadRow>(
      `select id, stage, traits, scores, grade, account_id, merged_into from leads
       where workspace_id = $1 and id = $2 for update`,
      [ws, current],
    );
    const row = rows[0];
    if (!row?.merged_into) return row ?? null;
    current = row.merged_into;
  }
  return null;
}

/** Sales users with what routing weighs: availability, capacity and this week's assignments. */
export async function loadCandidates(
  tx: Queryable,
  ws: string,
  routing: Routing,
  now: number,
): Promise<Candidate[]> {
  const users = await tx.query<{
    id: string;
    email: string;
    teams: string[];
    available: boolean;
    weekly_capacity: number | null;
  }>(
    `select id, email, teams, available, weekly_capacity from users
     where workspace_id = $1 and role = 'sales' order by email`,
    [ws],
  );
  // A week starts on Monday in each team's zone; eight days back covers every zone.
  const recent = await tx.query<{ owner_id: string; assigned_at: number }>(
    `select owner_id, assigned_at from handoffs
     where workspace_id = $1 and owner_id is not null and assigned_at >= $2`,
    [ws, now - 8 * 86_400_000],
  );
  const weekStart = new Map<string, number>();
  const startOf = (team: string) => {
    let s = weekStart.get(team);
    if (s === undefined) {
      const zone = routing.teams.get(team)?.calendar.timeZone ?? "UTC";
      s = DateTime.fromMillis(now, { zone }).startOf("week").toMillis();
      weekStart.set(team, s);
    }
    return s;
  };
  return users.map((u) => ({
    id: u.id,
    email: u.email,
    teams: u.teams,
    available: u.available,
    weeklyCapacity: u.weekly_capacity,
    assignedThisWeek: (team: string) => {
      const since = startOf(team);
      return recent.filter((h) => h.owner_id === u.id && Number(h.assigned_at) >= since).length;
    },
  }));
}

export async function loadPointers(tx: Queryable, ws: string): Promise<Map<string, string>> {
  const rows = await tx.query<{ team: string; user_id: string }>(
    "select team, user_id from routing_pointers where workspace_id = $1",
    [ws],
  );
  return new Map(rows.map((r) => [r.team, r.user_id]));
}

export async function advancePointer(tx: Queryable, ws: string, team: string, userId: string): Promise<void> {
  await tx.query(
    `insert into routing_pointers (workspace_id, team, user_id) values ($1, $2, $3)
     on conflict (workspace_id, team) do update set user_id = excluded.user_id`,
    [ws, team, userId],
  );
}

/** When the owner must act: the SLA counted in the team's calendar from `from`; null without an SLA. */
export function slaDue(team: Team, sla: Sla | null, from: number): number | null {
  return sla === null ? null : dueAt(team.calendar, from, sla);
}

/** Starts (or restarts) the handoff's SLA timer; without a due time there is none. */
export async function startSlaTimer(
  tx: Queryable,
  ws: string,
  handoffId: string,
  due: number | null,
): Promise<void> {
  if (due === null) return;
  await scheduleJob(tx, { ws, kind: SLA_JOB, key: `sla:${handoffId}`, runAt: due, payload: { handoffId } });
}

/** Serializes routing decisions of a workspace across processes. */
export async function lockRouting(tx: Queryable, ws: string): Promise<void> {
  await tx.query("select pg_advisory_xact_lock(hashtext($1), 81011)", [ws]);
}

/** Gives the lead's account an owner when it has none: its colleagues then go to the same rep. */
async function claimAccount(
  tx: Queryable,
  ws: string,
  accountId: string | null,
  ownerId: string,
): Promise<void> {
  if (accountId === null) return;
  await tx.query(
    "update accounts set owner_id = $3 where workspace_id = $1 and id = $2 and owner_id is null",
    [ws, accountId, ownerId],
  );
}

/**
 * The `handoff.route` jobs of one workspace (a claim's, or one alone), in one transaction: the
 * routing lock and the active routing are taken once; without an active routing there is nothing
 * else to do. Their leads (and those they were merged into) are locked first, in one sorted pass,
 * as a processing batch locks its leads before it writes accounts: routing one lead writes its
 * account's owner, and must not then wait for the next lead while a batch holding that lead waits
 * for the account.
 */
export async function routeMqls(
  tx: Queryable,
  ws: string,
  jobs: readonly RouteJob[],
  now: number,
): Promise<void> {
  await lockRouting(tx, ws);
  const active = await activeRouting(tx, ws);
  if (!active) return;
  await lockLeadChains(
    tx,
    ws,
    jobs.map((j) => j.leadId),
  );
  for (const job of jobs) await routeLocked(tx, ws, job, active, now);
}

/** Locks the leads and every lead they were merged into, in id order, until no merge leads further. */
async function lockLeadChains(tx: Queryable, ws: string, ids: readonly string[]): Promise<void> {
  const locked = new Set<string>();
  let wanted = [...new Set(ids)];
  while (wanted.length > 0) {
    const rows = await tx.query<{ id: string; merged_into: string | null }>(
      "select id, merged_into from leads where workspace_id = $1 and id = any($2) order by id for update",
      [ws, wanted],
    );
    for (const id of wanted) locked.add(id);
    wanted = [
      ...new Set(rows.flatMap((r) => (r.merged_into && !locked.has(r.merged_into) ? [r.merged_into] : []))),
    ];
  }
}

/** Routes one MQL, the routing lock held: stores its handoff, unless it has one or needs none. */
async function routeLocked(
  tx: Queryable,
  ws: string,
  job: RouteJob,
  active: ActiveRouting,
  now: number,
): Promise<void> {
  const done = await tx.query("select 1 from handoffs where workspace_id = $1 and source_key = $2", [
    ws,
    job.sourceKey,
  ]);
  if (done.length > 0) return;
  const lead = await lockLiveLead(tx, ws, job.leadId);
  // Sales already acted (a stage fact straight on the lead), or it was disqualified or erased.
  if (lead?.stage !== "mql") return;
  const open = await tx.query(
    `select 1 from handoffs where workspace_id = $1 and lead_id = $2
     and status in ('pending', 'accepted', 'converted', 'opportunity')`,
    [ws, lead.id],
  );
  if (open.length > 0) return;
  const before = await tx.query("select 1 from handoffs where workspace_id = $1 and lead_id = $2 limit 1", [
    ws,
    lead.id,
  ]);
  const accountRows =
    lead.account_id === null
      ? []
      : await tx.query<{
          id: string;
          domain: string | null;
          traits: Record<string, TraitValue>;
          owner_id: string | null;
          customer: boolean;
        }>(
          "select id, domain, traits, owner_id, customer from accounts where workspace_id = $1 and id = $2",
          [ws, lead.account_id],
        );
  const a = accountRows[0];
  const account: AccountToRoute | null = a
    ? { id: a.id, traits: { domain: a.domain, ...a.traits }, ownerId: a.owner_id, customer: a.customer }
    : null;
  const routing = active.routing;
  const decision = routeLead(
    routing,
    { traits: lead.traits, scores: lead.scores, grade: lead.grade, handRaiser: job.handRaiser },
    account,
    await loadCandidates(tx, ws, routing, now),
    await loadPointers(tx, ws),
  );
  const team = routing.teams.get(decision.team) as Team;
  const due = slaDue(team, decision.sla, now);
  const id = randomUUID();
  await tx.query(
    `insert into handoffs (workspace_id, id, lead_id, source_key, kind, hand_raiser, mql_at, status, owner_id,
       team, rule, routing, routing_version, assigned_at, sla, due_at, updated_at)
     values ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10, $11, $12, $13, $14, $15, $13)`,
    [
      ws,
      id,
      lead.id,
      job.sourceKey,
      before.length > 0 ? "re-mql" : "mql",
      job.handRaiser,
      job.mqlAt,
      decision.ownerId,
      decision.team,
      decision.rule,
      JSON.stringify(routingRecord(decision)),
      active.version,
      now,
      decision.sla === null ? null : JSON.stringify(decision.sla),
      due,
    ],
  );
  await recordHistory(tx, ws, {
    handoffId: id,
    at: now,
    action: "assigned",
    to: "pending",
    ownerId: decision.ownerId,
    actor: "routing",
    detail: routingRecord(decision),
  });
  if (decision.ownerId !== null) {
    // An account owner's lead is not the team's turn: round robin goes on where it was.
    if (decision.rule !== "account-owner") await advancePointer(tx, ws, decision.team, decision.ownerId);
    await claimAccount(tx, ws, lead.account_id, decision.ownerId);
  }
  await tx.query("update leads set owner = $3 where workspace_id = $1 and id = $2", [
    ws,
    lead.id,
    decision.ownerId,
  ]);
  await startSlaTimer(tx, ws, id, due);
  await writeOutbox(tx, ws, [await handoffMessage(tx, ws, id, "handoff.assigned", now)]);
}

/** What the handoff keeps of the decision: which rule chose the owner and why others were passed over. */
export const routingRecord = (d: RoutingDecision) => ({
  rule: d.rule,
  team: d.team,
  owner: d.ownerEmail,
  why: d.why,
  skipped: d.skipped,
});
