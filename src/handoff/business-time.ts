import { IANAZone } from "luxon";
import { QualifyError } from "../errors.js";
import { type BusinessCalendar, type DayInterval, formatDay } from "./business-calendar.js";

/**
 * Business hours as real time: the calendar's wall-clock intervals mapped to epoch-ms ranges in
 * the team's zone. Pure: no clock, every instant is an argument.
 *
 * ## Days when the clocks change
 *
 * An interval is open from the moment the team's clocks **first show its start** until the
 * moment they **first show its end**. Business time is real elapsed time inside those ranges.
 *
 * - Spring forward (New York, 2026-03-08: 01:59:59 EST → 03:00 EDT). A time in the skipped hour
 *   is reached when the clocks jump. `01:00-04:00` is open 01:00–01:59 EST and 03:00–04:00 EDT:
 *   2 real hours. `02:30-04:00` opens at the jump (03:00 EDT): 1 hour. `02:00-02:30` never
 *   opens: 0 minutes.
 * - Fall back (New York, 2026-11-01: 01:59:59 EDT → 01:00 EST). A repeated time counts at its
 *   first occurrence. `01:00-04:00` runs from 01:00 EDT to 04:00 EST: 4 real hours.
 *   `00:30-01:30` closes at the first 01:30 (EDT): 1 hour; it does not reopen when the clocks
 *   show 01:00–01:30 again. `01:30-03:00` opens at the first 01:30 (EDT) and runs to 03:00 EST:
 *   2.5 hours. So intervals that touch on the wall clock touch in real time too, and a 24x7
 *   team's day lasts 23 or 25 hours.
 *
 * Plain-minute SLAs ignore all this: they are real elapsed time.
 *
 * ## Why Luxon, and only for offsets
 *
 * Luxon (`IANAZone`) supplies the one thing that needs the tz database: a zone's UTC offset at an
 * instant (and whether a zone name is valid); it caches its Intl formatters. Wall time → instant
 * is done here, because Luxon's own conversion (`DateTime.fromObject`) resolves a repeated hour
 * with the offset in force at *the current time* (`Settings.now()`), so the same input gives
 * different instants in summer and winter, and it moves a skipped time forward by the length of
 * the gap rather than to the jump. The rule above needs neither.
 */

const MINUTE = 60_000;
const DAY = 86_400_000;
/** No zone is more than 16 hours from UTC (today ±14; local mean times before 1900 a bit more). */
const MAX_OFFSET = 16 * 3_600_000;
/** An open-ended search gives up after this many days without business hours. */
export const MAX_CLOSED_DAYS = 366;

/** A real, half-open range of epoch ms: open at `start`, closed at `end`. */
export interface OpenRange {
  readonly start: number;
  readonly end: number;
}

interface CalendarCache {
  zone: IANAZone;
  days: Map<number, readonly OpenRange[]>;
}

const DAY_CACHE_SIZE = 1024;
const caches = new WeakMap<BusinessCalendar, CalendarCache>();

function cacheOf(calendar: BusinessCalendar): CalendarCache {
  let cache = caches.get(calendar);
  if (!cache) {
    const zone = IANAZone.create(calendar.timeZone);
    if (!zone.isValid) {
      throw new QualifyError("INPUT_INVALID", `unknown time zone '${calendar.timeZone}'`, [
        { path: "timeZone", message: "expected an IANA time zone such as 'Europe/Berlin'" },
      ]);
    }
    cache = { zone, days: new Map() };
    caches.set(calendar, cache);
  }
  return cache;
}

/** The zone's offset at an instant, in ms (wall = instant + offset). */
const offsetAt = (zone: IANAZone, ms: number) => zone.offset(ms) * MINUTE;

/**
 * The first instant at which the zone's clocks show `wall` or later (`wall`: a local date and
 * time written as if it were UTC ms). Assumes at most one offset change within a day either
 * side, which holds for every zone in the tz database since 1970.
 */
function firstInstantAtWall(zone: IANAZone, wall: number): number {
  const before = offsetAt(zone, wall - DAY);
  const after = offsetAt(zone, wall + DAY);
  if (before === after) return wall - before;
  const candidates = [wall - before, wall - after].filter((t) => offsetAt(zone, t) === wall - t);
  if (candidates.length > 0) return Math.min(...candidates);
  // In the gap of a spring-forward: the first instant with the new offset is the jump.
  let lo = Math.min(wall - before, wall - after);
  let hi = Math.max(wall - before, wall - after);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetAt(zone, mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** The local date (days since 1970-01-01) at an instant. */
export function localDayAt(calendar: BusinessCalendar, ms: number): number {
  const { zone } = cacheOf(calendar);
  return Math.floor((ms + offsetAt(zone, ms)) / DAY);
}

/** Monday = 0 … Sunday = 6; day 0 (1970-01-01) was a Thursday. */
const weekdayOf = (day: number) => (((day + 3) % 7) + 7) % 7;

/** The day's hours: a holiday's (or short day's) if listed, else the weekday's. */
export function hoursOn(calendar: BusinessCalendar, day: number): readonly DayInterval[] {
  return calendar.exceptions.get(day) ?? calendar.week[weekdayOf(day)] ?? [];
}

/** A local day's business hours as real ranges, in order, empty ones (inside a gap) dropped. */
export function openRangesOn(calendar: BusinessCalendar, day: number): readonly OpenRange[] {
  const cache = cacheOf(calendar);
  const cached = cache.days.get(day);
  if (cached) return cached;
  const hours = hoursOn(calendar, day);
  const midnight = day * DAY;
  const { zone } = cache;
  let ranges: OpenRange[];
  if (hours.length === 0) {
    ranges = [];
  } else if (offsetAt(zone, midnight - DAY) === offsetAt(zone, midnight + 2 * DAY)) {
    // No clock change anywhere near this day: one offset for all of it.
    const offset = offsetAt(zone, midnight);
    ranges = hours.map((h) => ({
      start: midnight + h.start * MINUTE - offset,
      end: midnight + h.end * MINUTE - offset,
    }));
  } else {
    ranges = hours
      .map((h) => ({
        start: firstInstantAtWall(zone, midnight + h.start * MINUTE),
        end: firstInstantAtWall(zone, midnight + h.end * MINUTE),
      }))
      .filter((r) => r.end > r.start);
  }
  if (cache.days.size >= DAY_CACHE_SIZE) cache.days.clear();
  cache.days.set(day, ranges);
  return ranges;
}

export function checkInstant(ms: number, name: string): void {
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) {
    throw new QualifyError("INPUT_INVALID", `${name} is not a valid time: ${ms}`);
  }
}

/**
 * The business ranges that end after `fromMs`, in time order (the first may have started
 * before it). With `untilMs`, stops once ranges start at or after it. Without, the search is
 * open-ended and fails after MAX_CLOSED_DAYS days in a row without business hours (a year of
 * holidays) rather than loop for ever.
 */
export function* openRangesFrom(
  calendar: BusinessCalendar,
  fromMs: number,
  untilMs = Number.POSITIVE_INFINITY,
): Generator<OpenRange, void, undefined> {
  // A day's ranges lie between the first instants its clocks show 00:00 and 24:00, and those
  // never go back, so walking local days in order gives the ranges in order. Starting a day
  // early costs one cached lookup, and stays right should a zone set its clocks back across
  // midnight (an instant's local date would then be earlier than its range's day).
  let day = localDayAt(calendar, fromMs) - 1;
  let closedRun = 0;
  for (;;) {
    if (day * DAY - MAX_OFFSET >= untilMs) return;
    let yielded = false;
    for (const r of openRangesOn(calendar, day)) {
      if (r.end <= fromMs) continue;
      if (r.start >= untilMs) return;
      yielded = true;
      yield r;
    }
    closedRun = yielded ? 0 : closedRun + 1;
    if (closedRun > MAX_CLOSED_DAYS && untilMs === Number.POSITIVE_INFINITY) {
      throw new QualifyError(
        "INPUT_INVALID",
        `the business calendar (${calendar.timeZone}) has no business hours in the ${MAX_CLOSED_DAYS} days up to ${formatDay(day)}; check its holidays`,
      );
    }
    day++;
  }
}

/** Whether the team is open at `ms` (a range is open at its start, closed at its end). */
export function isOpen(calendar: BusinessCalendar, ms: number): boolean {
  checkInstant(ms, "the time");
  for (const r of openRangesFrom(calendar, ms, ms + 1)) if (r.start <= ms) return true;
  return false;
}

/** The first instant at or after `ms` when the team is open: `ms` itself when open. */
export function nextOpening(calendar: BusinessCalendar, ms: number): number {
  checkInstant(ms, "the time");
  for (const r of openRangesFrom(calendar, ms)) return Math.max(r.start, ms);
  throw new Error("unreachable: an open-ended search ends with a range or an error");
}
