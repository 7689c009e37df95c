import type { AnalyticsConfig } from "./analytics-config.js";
import type { TouchEvent } from "./classify-channel.js";
import { continueSessions, pathOf, type Touchpoint } from "./sessionize.js";

/**
 * One lead's sessions and conversion paths, brought up to date from what the rollup stored for it
 * and the events that came since, without its whole history where that gives the same answer. Pure.
 */

export type StoredTouch = TouchEvent & { id: string };

/** The milestones a lead's paths end at (epoch ms; null: not reached, the path runs to now). */
export interface PathEnds {
  mqlAt: number | null;
  customerAt: number | null;
}

/** What the rollup stored for a lead: its sessions, and its paths with the milestones they end at. */
export interface RolledLead {
  sessions: readonly Touchpoint[];
  paths?: PathEnds & { toMql: readonly string[]; toWon: readonly string[] };
}

export interface LeadRollup {
  sessions: Touchpoint[];
  toMql: string[];
  toWon: string[];
}

/** A lead the rollup has nothing stored for: rolling it from here takes its whole history. */
export const NOTHING_ROLLED: RolledLead = { sessions: [] };

/**
 * The lead's sessions and paths with `fresh` (its events since `before` was stored) added, and
 * its paths ending at `ends`: the same as from its whole history. Null when `before` cannot be
 * continued: an event at or before the last stored one, or a path that now ends inside the stored
 * sessions at another milestone. The caller then rolls the lead from `NOTHING_ROLLED` with its
 * whole history.
 */
export function rollLead(
  before: RolledLead,
  fresh: readonly StoredTouch[],
  ends: PathEnds,
  config: AnalyticsConfig,
): LeadRollup | null {
  const lastEnd = before.sessions[before.sessions.length - 1]?.endAt ?? Number.NEGATIVE_INFINITY;
  let firstFresh = Number.POSITIVE_INFINITY;
  let last = lastEnd;
  for (const e of fresh) {
    if (e.at <= lastEnd) return null;
    firstFresh = Math.min(firstFresh, e.at);
    last = Math.max(last, e.at);
  }
  const sessions = continueSessions(before.sessions, fresh, config);
  const path = (until: number | null, storedUntil: number | null | undefined, stored?: readonly string[]) => {
    // No milestone, or one after every event: the path through all the sessions.
    if (until === null || until >= last) return pathOf(sessions, config.collapseRepeats);
    // Every fresh event comes after the milestone the stored path ends at: it stands.
    if (stored !== undefined && storedUntil === until && until < firstFresh) return [...stored];
    if (until >= lastEnd)
      return pathOf(
        continueSessions(
          before.sessions,
          fresh.filter((e) => e.at <= until),
          config,
        ),
        config.collapseRepeats,
      );
    return null;
  };
  const toMql = path(ends.mqlAt, before.paths?.mqlAt, before.paths?.toMql);
  const toWon = path(ends.customerAt, before.paths?.customerAt, before.paths?.toWon);
  return toMql && toWon ? { sessions, toMql, toWon } : null;
}

/** How many of `next`'s first sessions are stored as they are in `stored` (those need no write). */
export function unchangedSessions(stored: readonly Touchpoint[], next: readonly Touchpoint[]): number {
  let i = 0;
  while (i < stored.length && i < next.length && sameSession(stored[i] as Touchpoint, next[i] as Touchpoint))
    i++;
  return i;
}

const sameSession = (a: Touchpoint, b: Touchpoint) =>
  a.index === b.index &&
  a.startAt === b.startAt &&
  a.endAt === b.endAt &&
  a.events === b.events &&
  a.channel === b.channel &&
  a.source === b.source &&
  a.medium === b.medium &&
  a.campaign === b.campaign &&
  a.classified === b.classified &&
  a.types.length === b.types.length &&
  a.types.every((t, i) => b.types[i] === t);
