import {
  type ConditionContext,
  explainCondition,
  type Grade,
  type TraitValue,
  toCents,
} from "../engine/index.js";
import type { Sla } from "./business-calendar.js";
import type { Pick, Routing, RoutingRule, Team } from "./routing-spec.js";

/**
 * Who gets an MQL: pure and deterministic, given the routing document, the lead, its account, the
 * sales users with their load, and where each team's round robin stands. The decision says which
 * rule chose the owner and why every other candidate was passed over, so a rep or an admin can
 * read why a lead landed where it did.
 */

export interface Candidate {
  id: string;
  email: string;
  teams: readonly string[];
  available: boolean;
  /** Most handoffs a week; null means no limit. */
  weeklyCapacity: number | null;
  /** Handoffs assigned to them since the start of this week (in the team's zone). */
  assignedThisWeek: (team: string) => number;
}

export interface LeadToRoute {
  traits: Record<string, TraitValue>;
  /** In points, as the lead's summary keeps them. */
  scores: Record<string, number>;
  grade: Grade | null;
  handRaiser: boolean;
}

export interface AccountToRoute {
  id: string;
  traits: Record<string, TraitValue>;
  ownerId: string | null;
  customer: boolean;
}

export interface Skipped {
  /** A sales user passed over, or a rule whose team had nobody free. */
  owner?: string;
  rule?: string;
  team?: string;
  reason: string;
}

export interface RoutingDecision {
  /** The owner's user id; null leaves the handoff in its team's queue for an admin to assign. */
  ownerId: string | null;
  ownerEmail: string | null;
  team: string;
  /** `account-owner`, a rule's id, or `fallback`. */
  rule: string;
  why: string;
  skipped: Skipped[];
  sla: Sla | null;
}

/** Where each team's round robin stands: the user who got the team's last lead. */
export type Pointers = ReadonlyMap<string, string>;

function conditionContext(lead: LeadToRoute, account: AccountToRoute | null): ConditionContext {
  return {
    traits: lead.traits,
    account: account ? { ...account.traits, customer: account.customer } : {},
    scores: Object.fromEntries(Object.entries(lead.scores).map(([k, v]) => [k, toCents(v)])),
    ...(lead.grade ? { grade: lead.grade } : {}),
  };
}

/** Why a candidate cannot take a lead of this team now; null when they can. */
function unfit(c: Candidate, team: string): string | null {
  if (!c.available) return "unavailable";
  const load = c.assignedThisWeek(team);
  if (c.weeklyCapacity !== null && load >= c.weeklyCapacity)
    return `at capacity (${load}/${c.weeklyCapacity} this week)`;
  return null;
}

/**
 * One of the team's free members: round robin starts after the last one who got a lead; least
 * load takes the fewest this week, ties in round-robin order. Members are ordered by email.
 */
export function pickInTeam(
  team: Team,
  pick: Pick,
  candidates: readonly Candidate[],
  pointers: Pointers,
  skipped: Skipped[],
): Candidate | null {
  const members = candidates
    .filter((c) => c.teams.includes(team.id))
    .sort((a, b) => (a.email < b.email ? -1 : a.email > b.email ? 1 : 0));
  const last = pointers.get(team.id);
  const start = last === undefined ? 0 : members.findIndex((m) => m.id === last) + 1;
  const ordered = [...members.slice(start), ...members.slice(0, start)];
  const free = ordered.filter((c) => {
    const reason = unfit(c, team.id);
    if (reason) skipped.push({ owner: c.email, team: team.id, reason });
    return reason === null;
  });
  if (pick === "round-robin") return free[0] ?? null;
  let best: Candidate | null = null;
  for (const c of free)
    if (best === null || c.assignedThisWeek(team.id) < best.assignedThisWeek(team.id)) best = c;
  return best;
}

function slaOf(team: Team, rule: RoutingRule | null, handRaiser: boolean): Sla | null {
  const c = team.calendar;
  if (handRaiser) {
    const hr = rule?.handRaiserSla ?? c.handRaiserSla;
    if (hr) return hr;
  }
  return rule?.sla ?? c.sla ?? null;
}

/** The team an account owner's leads are timed by: their first team that routing knows, else the fallback. */
function ownersTeam(routing: Routing, owner: Candidate): Team {
  for (const t of owner.teams) {
    const team = routing.teams.get(t);
    if (team) return team;
  }
  return routing.teams.get(routing.fallback.team) as Team;
}

export function routeLead(
  routing: Routing,
  lead: LeadToRoute,
  account: AccountToRoute | null,
  candidates: readonly Candidate[],
  pointers: Pointers,
): RoutingDecision {
  const skipped: Skipped[] = [];
  const decide = (
    owner: Candidate | null,
    team: Team,
    rule: RoutingRule | null,
    ruleId: string,
    why: string,
  ): RoutingDecision => ({
    ownerId: owner?.id ?? null,
    ownerEmail: owner?.email ?? null,
    team: team.id,
    rule: ruleId,
    why,
    skipped,
    sla: slaOf(team, rule, lead.handRaiser),
  });

  if (routing.accountOwners && account?.ownerId) {
    const owner = candidates.find((c) => c.id === account.ownerId);
    const whose = account.customer ? `customer account ${account.id}` : `account ${account.id}`;
    if (!owner) skipped.push({ rule: "account-owner", reason: `the owner of ${whose} is not a sales user` });
    else if (!owner.available)
      skipped.push({ owner: owner.email, rule: "account-owner", reason: "unavailable" });
    else
      return decide(
        owner,
        ownersTeam(routing, owner),
        null,
        "account-owner",
        `${whose} is owned by ${owner.email}`,
      );
  }

  const ctx = conditionContext(lead, account);
  for (const rule of routing.rules) {
    const match = rule.when ? explainCondition(rule.when, ctx) : { ok: true, text: "every lead" };
    if (!match.ok) continue;
    const team = routing.teams.get(rule.team) as Team;
    const pick = rule.pick ?? team.pick;
    const owner = pickInTeam(team, pick, candidates, pointers, skipped);
    if (owner) return decide(owner, team, rule, rule.id, `${match.text}; ${pick} in ${team.id}`);
    skipped.push({ rule: rule.id, team: team.id, reason: `${match.text}, but nobody in ${team.id} is free` });
  }

  const team = routing.teams.get(routing.fallback.team) as Team;
  const pick = routing.fallback.pick ?? team.pick;
  const owner = pickInTeam(team, pick, candidates, pointers, skipped);
  return decide(
    owner,
    team,
    null,
    "fallback",
    owner
      ? `no rule took the lead; ${pick} in the fallback queue ${team.id}`
      : `queued in ${team.id}: nobody is free`,
  );
}
