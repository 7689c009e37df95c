import type { AnalyticsConfig } from "./analytics-config.js";
import {
  type Attribution,
  classifyEvent,
  DIRECT,
  type TouchEvent,
  touchTypesOf,
} from "./classify-channel.js";

/**
 * Touchpoints: a profile's events cut into sessions, a new one after `sessionGapMs` without an
 * event. A session's channel is that of its first event that a channel rule matches (its landing,
 * usually); a session that none matches is `direct`. Its types are the touchpoint types of its
 * events, in order of first appearance. Pure: the same events give the same touchpoints in any
 * order they are passed.
 */

export interface Touchpoint extends Attribution {
  /** 0 for a profile's first session. */
  index: number;
  startAt: number;
  endAt: number;
  events: number;
  types: string[];
  /** A channel rule matched one of its events (its attribution is settled). */
  classified: boolean;
}

/** Sorts by time, then by a stable key, so that events at one instant always fall the same way. */
export function byTime<T extends TouchEvent & { id?: string }>(events: readonly T[]): T[] {
  return [...events].sort((a, b) => a.at - b.at || (a.id ?? "").localeCompare(b.id ?? ""));
}

export function sessionize(
  events: readonly (TouchEvent & { id?: string })[],
  config: AnalyticsConfig,
): Touchpoint[] {
  return continueSessions([], events, config);
}

/**
 * A profile's sessions so far (`before`) continued with later events, each after the last event
 * of `before`: the same as sessionizing all the events at once, since a session's cut, channel and
 * types depend only on the events before. `before` is left as it was.
 */
export function continueSessions(
  before: readonly Touchpoint[],
  events: readonly (TouchEvent & { id?: string })[],
  config: AnalyticsConfig,
): Touchpoint[] {
  const out = before.map((tp) => ({ ...tp, types: [...tp.types] }));
  let current = out[out.length - 1] ?? null;
  for (const e of byTime(events)) {
    if (current === null || e.at - current.endAt > config.sessionGapMs) {
      current = {
        ...DIRECT,
        index: out.length,
        startAt: e.at,
        endAt: e.at,
        events: 0,
        types: [],
        classified: false,
      };
      out.push(current);
    }
    current.endAt = e.at;
    current.events++;
    if (!current.classified) {
      const a = classifyEvent(e, config);
      if (a) Object.assign(current, a, { classified: true });
    }
    for (const t of touchTypesOf(e, config)) if (!current.types.includes(t)) current.types.push(t);
  }
  return out;
}

/**
 * The path of touchpoint types through these touchpoints, in order; with `collapse`, consecutive
 * repeats of a type count once.
 */
export function pathOf(touchpoints: readonly Touchpoint[], collapse: boolean): string[] {
  const path: string[] = [];
  for (const tp of touchpoints)
    for (const t of tp.types) if (!collapse || path[path.length - 1] !== t) path.push(t);
  return path;
}
