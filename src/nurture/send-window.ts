import { DateTime, IANAZone } from "luxon";

/**
 * When a marketing email may go to a lead: never in its quiet hours (in its own time zone), and
 * never more than the frequency cap allows. Pure: times are epoch milliseconds, passed in.
 */

export interface QuietHours {
  /** Local "HH:MM" when quiet starts, e.g. "21:00". */
  start: string;
  /** Local "HH:MM" when it ends, e.g. "08:00"; before `start` means it spans midnight. */
  end: string;
}

export interface FrequencyCap {
  /** At most this many marketing emails… */
  max: number;
  /** …in any window this long (e.g. 7 days). */
  windowMs: number;
}

/**
 * The lead's zone: its latest `context.timezone`, else its `timezone` trait, else the workspace's
 * default. Anything that is not a valid IANA zone is skipped.
 */
export function leadZone(candidates: readonly (unknown | undefined)[], fallback: string): string {
  for (const c of candidates) if (typeof c === "string" && IANAZone.isValidZone(c)) return c;
  return fallback;
}

const minutesOf = (hhmm: string) => {
  const [h, m] = hhmm.split(":").map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
};

/** The first instant at or after `now` outside the quiet hours, in `zone`. */
export function afterQuietHours(zone: string, quiet: QuietHours, now: number): number {
  const local = DateTime.fromMillis(now, { zone });
  const minute = local.hour * 60 + local.minute;
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  if (start === end) return now;
  const quietNow = start < end ? minute >= start && minute < end : minute >= start || minute < end;
  if (!quietNow) return now;
  // The end of this quiet spell: today's end, or tomorrow's when the spell began before midnight.
  const day = start > end && minute >= start ? local.plus({ days: 1 }) : local;
  return day.set({ hour: Math.floor(end / 60), minute: end % 60, second: 0, millisecond: 0 }).toMillis();
}

/** The first instant at or after `now` at which one more email stays within the cap. */
export function afterFrequencyCap(sent: readonly number[], cap: FrequencyCap, now: number): number {
  const recent = sent.filter((t) => t > now - cap.windowMs).sort((a, b) => a - b);
  if (recent.length < cap.max) return now;
  // The oldest of the emails that must first leave the window.
  return (recent[recent.length - cap.max] as number) + cap.windowMs;
}

/** The earliest send time that respects both the quiet hours and the cap. */
export function earliestSend(
  zone: string,
  quiet: QuietHours | null,
  sent: readonly number[],
  cap: FrequencyCap | null,
  now: number,
): number {
  let t = now;
  // Each pass can only move later; two constraints settle within a few passes.
  for (let i = 0; i < 10; i++) {
    const next = Math.max(
      quiet ? afterQuietHours(zone, quiet, t) : t,
      cap ? afterFrequencyCap(sent, cap, t) : t,
    );
    if (next === t) return t;
    t = next;
  }
  return t;
}
