import { QualifyError } from "../errors.js";
import { type BusinessCalendar, formatDay, MAX_SLA_MINUTES, type Sla } from "./business-calendar.js";
import { checkInstant, localDayAt, openRangesFrom } from "./business-time.js";

/**
 * SLA due times and elapsed business time, for handoffs and breach reporting. Pure: the start and
 * end are arguments. How business hours map to real time on days the clocks change is explained
 * in `business-time.ts`.
 */

const MINUTE = 60_000;
/** A business-hours SLA must end within this many years of its start. */
const MAX_SLA_YEARS = 10;
const MAX_SLA_SPAN = MAX_SLA_YEARS * 366 * 86_400_000;

/**
 * When an SLA that starts at `startMs` is due (epoch ms).
 *
 * - `elapsed`: `startMs + minutes`, in real time (across a clock change too).
 * - `business`: the instant at which `minutes` business minutes have passed since `startMs`.
 *   The clock runs only inside business hours, so a start outside them counts from the next
 *   opening. The result is inside business hours or at the end of an interval (4 hours from
 *   14:00 with hours 09:00-18:00 is 18:00 that day, not 09:00 the next). An SLA of 0 is due at
 *   `startMs` when open, else at the next opening.
 */
export function dueAt(calendar: BusinessCalendar, startMs: number, sla: Sla): number {
  checkInstant(startMs, "the start");
  if (!Number.isInteger(sla.minutes) || sla.minutes < 0 || sla.minutes > MAX_SLA_MINUTES) {
    throw new QualifyError(
      "INPUT_INVALID",
      `an SLA must be a whole number of minutes from 0 to ${MAX_SLA_MINUTES}, got ${sla.minutes}`,
    );
  }
  if (sla.basis === "elapsed") return startMs + sla.minutes * MINUTE;
  let remaining = sla.minutes * MINUTE;
  for (const r of openRangesFrom(calendar, startMs)) {
    const from = Math.max(r.start, startMs);
    if (remaining <= r.end - from) return from + remaining;
    remaining -= r.end - from;
    if (r.end - startMs > MAX_SLA_SPAN) break;
  }
  throw new QualifyError(
    "INPUT_INVALID",
    `an SLA of ${sla.minutes} business minutes from ${formatDay(localDayAt(calendar, startMs))} does not end within ${MAX_SLA_YEARS} years of the calendar (${calendar.timeZone})`,
  );
}

/**
 * The business time in ms between two instants: the real time inside business hours in
 * `[fromMs, toMs)`. Negative when `toMs` is before `fromMs` (how early an action was), so
 * `between(a, b) + between(b, c) == between(a, c)`.
 */
export function businessMillisBetween(calendar: BusinessCalendar, fromMs: number, toMs: number): number {
  checkInstant(fromMs, "the start");
  checkInstant(toMs, "the end");
  if (toMs < fromMs) return 0 - businessMillisBetween(calendar, toMs, fromMs); // 0 - 0 is +0
  let total = 0;
  for (const r of openRangesFrom(calendar, fromMs, toMs)) {
    total += Math.min(r.end, toMs) - Math.max(r.start, fromMs);
  }
  return total;
}

/** `businessMillisBetween` in minutes (fractional when the instants are not whole minutes apart). */
export function businessMinutesBetween(calendar: BusinessCalendar, fromMs: number, toMs: number): number {
  return businessMillisBetween(calendar, fromMs, toMs) / MINUTE;
}
