import { IANAZone } from "luxon";
import * as z from "zod";
import { formatPath } from "../engine/model/load-model.js";
import { dispatch, toFieldIssues } from "../engine/model/schema-issues.js";
import { QualifyError } from "../errors.js";

/**
 * A sales team's business calendar as users write it in YAML, and its compiled form:
 *
 * ```yaml
 * timeZone: America/New_York          # an IANA zone name
 * hours:                              # per weekday; a missing day or [] is closed
 *   mon: ["09:00-12:00", "13:00-18:00"]
 *   tue: ["09:00-18:00"]
 *   sat: []
 * holidays:                           # dates in the team's zone
 *   - 2026-12-25                      # closed all day
 *   - { date: 2026-12-24, hours: ["09:00-13:00"] }   # a short day: these hours replace the week's
 * sla: { businessHours: 4 }           # or businessMinutes, minutes (wall clock), hours (wall clock)
 * handRaiserSla: { minutes: 30 }      # optional; the caller decides when it applies
 * ```
 *
 * Times of day are wall-clock times in the team's zone; `sla-due.ts` maps them to real instants
 * (and explains what happens on days when the clocks change).
 */

/** Minutes after local midnight, `[start, end)`, with 0 ≤ start < end ≤ 1440. */
export interface DayInterval {
  readonly start: number;
  readonly end: number;
}

/**
 * An SLA: `business` minutes count only inside business hours (holidays excluded); `elapsed`
 * minutes are plain wall-clock (real) time.
 */
export interface Sla {
  readonly basis: "business" | "elapsed";
  readonly minutes: number;
}

export interface BusinessCalendar {
  readonly timeZone: string;
  /** Monday first (index 0 = Monday … 6 = Sunday); sorted, touching intervals merged. */
  readonly week: readonly (readonly DayInterval[])[];
  /** Local date as days since 1970-01-01 → that day's hours (empty: closed all day). */
  readonly exceptions: ReadonlyMap<number, readonly DayInterval[]>;
  readonly sla: Sla | undefined;
  readonly handRaiserSla: Sla | undefined;
}

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const DAY_MS = 86_400_000;
const MINUTES_PER_DAY = 1440;
/** The longest SLA accepted: one year, in either basis. */
export const MAX_SLA_MINUTES = 525_600;

const show = (v: unknown) => (typeof v === "string" ? `'${v}'` : (JSON.stringify(v) ?? String(v)));

const RANGE_PATTERN = /^(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})$/;

/** `HH:MM` → minutes, or undefined; 24:00 only when `allowEnd`. */
function minutesOf(h: string, m: string, allowEnd: boolean): number | undefined {
  const hours = Number(h);
  const minutes = Number(m);
  if (minutes > 59) return undefined;
  if (hours < 24) return hours * 60 + minutes;
  return allowEnd && hours === 24 && minutes === 0 ? MINUTES_PER_DAY : undefined;
}

const formatTime = (m: number) =>
  `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
const formatInterval = (i: DayInterval) => `${formatTime(i.start)}-${formatTime(i.end)}`;

const interval = z.unknown().transform((v, ctx): DayInterval => {
  const m = typeof v === "string" ? RANGE_PATTERN.exec(v.trim()) : null;
  if (!m?.[1] || !m[2] || !m[3] || !m[4]) {
    ctx.addIssue({ code: "custom", message: `expected a time range like '09:00-18:00', got ${show(v)}` });
    return z.NEVER;
  }
  const start = minutesOf(m[1], m[2], false);
  const end = minutesOf(m[3], m[4], true);
  if (start === undefined || end === undefined) {
    ctx.addIssue({
      code: "custom",
      message: `${show(v)} is not a time of day (00:00 to 23:59, or 24:00 as an end)`,
    });
    return z.NEVER;
  }
  if (end <= start) {
    ctx.addIssue({
      code: "custom",
      message: `${show(v)} ends before it starts; split a shift past midnight over two days ('22:00-24:00' and the next day's '00:00-06:00')`,
    });
    return z.NEVER;
  }
  return { start, end };
});

/** A day's hours: in order and not overlapping (touching is fine: '09:00-12:00', '12:00-18:00'). */
const dayHours = z
  .array(interval, { error: (iss) => `expected a list of time ranges, got ${show(iss.input)}` })
  .superRefine((list, ctx) => {
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1];
      const cur = list[i];
      if (!prev || !cur) continue;
      if (cur.start < prev.end && cur.end > prev.start) {
        ctx.addIssue({
          code: "custom",
          path: [i],
          message: `'${formatInterval(cur)}' overlaps '${formatInterval(prev)}'`,
        });
      } else if (cur.start < prev.start) {
        ctx.addIssue({
          code: "custom",
          path: [i],
          message: `'${formatInterval(cur)}' comes before '${formatInterval(prev)}'; list a day's hours in order`,
        });
      }
    }
  });

const weekHours = z.strictObject(
  Object.fromEntries(WEEKDAYS.map((d) => [d, dayHours.optional()])) as Record<
    Weekday,
    z.ZodOptional<typeof dayHours>
  >,
  { error: (iss) => `expected hours per weekday (mon … sun), got ${show(iss.input)}` },
);

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

/** `YYYY-MM-DD` → days since 1970-01-01, or undefined when it is not a real date. */
function dayNumberOf(date: string): number | undefined {
  const m = DATE_PATTERN.exec(date);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d)
    return undefined;
  return ms / DAY_MS;
}

/** Days since 1970-01-01 → `YYYY-MM-DD`. */
export const formatDay = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);

/** YAML reads an unquoted 2026-12-25 as a string with the default schema; a Date is accepted too. */
const holidayDate = z.unknown().transform((v, ctx): number => {
  const text = v instanceof Date && !Number.isNaN(v.getTime()) ? v.toISOString().slice(0, 10) : v;
  const day = typeof text === "string" ? dayNumberOf(text) : undefined;
  if (day === undefined) {
    ctx.addIssue({
      code: "custom",
      message: v === undefined ? "is required" : `expected a date like '2026-12-25', got ${show(v)}`,
    });
    return z.NEVER;
  }
  return day;
});

interface Holiday {
  day: number;
  hours: DayInterval[];
}

const holiday = dispatch<Holiday>((v) =>
  typeof v === "object" && v !== null && !(v instanceof Date)
    ? z.strictObject({ date: holidayDate, hours: dayHours.default([]) }).transform((h) => ({
        day: h.date,
        hours: h.hours,
      }))
    : holidayDate.transform((day) => ({ day, hours: [] })),
);

const holidays = z
  .array(holiday, { error: (iss) => `expected a list of dates, got ${show(iss.input)}` })
  .superRefine((list, ctx) => {
    const seen = new Set<number>();
    list.forEach((h, i) => {
      if (seen.has(h.day)) {
        ctx.addIssue({ code: "custom", path: [i], message: `${formatDay(h.day)} is listed twice` });
      }
      seen.add(h.day);
    });
  });

const timeZone = z.unknown().transform((v, ctx): string => {
  // IANAZone.isValidZone asks Intl, so it knows the zones of the running Node's ICU data. Offsets
  // such as '+01:00' are refused: a team's hours follow its region's clock changes.
  if (typeof v !== "string" || !IANAZone.isValidZone(v)) {
    ctx.addIssue({
      code: "custom",
      message:
        v === undefined
          ? "is required"
          : `expected an IANA time zone such as 'Europe/Berlin' or 'America/New_York', got ${show(v)}`,
    });
    return z.NEVER;
  }
  return v;
});

const SLA_UNITS = {
  businessHours: { basis: "business", perUnit: 60 },
  businessMinutes: { basis: "business", perUnit: 1 },
  hours: { basis: "elapsed", perUnit: 60 },
  minutes: { basis: "elapsed", perUnit: 1 },
} as const satisfies Record<string, { basis: Sla["basis"]; perUnit: number }>;
type SlaUnit = keyof typeof SLA_UNITS;
const SLA_KEYS = Object.keys(SLA_UNITS) as SlaUnit[];

const slaAmount = z.number({ error: (iss) => `expected a number, got ${show(iss.input)}` });

/** `{ businessHours: 4 }`, `{ businessMinutes: 90 }`, `{ minutes: 30 }` or `{ hours: 2 }`. */
export const slaSchema = z
  .strictObject(
    Object.fromEntries(SLA_KEYS.map((k) => [k, slaAmount.optional()])) as Record<
      SlaUnit,
      z.ZodOptional<typeof slaAmount>
    >,
    {
      error: (iss) =>
        `expected an SLA such as { businessHours: 4 } or { minutes: 30 }, got ${show(iss.input)}`,
    },
  )
  .transform((o, ctx): Sla => {
    const given = SLA_KEYS.filter((k) => o[k] !== undefined);
    const key = given[0];
    if (given.length !== 1 || key === undefined) {
      ctx.addIssue({ code: "custom", message: `expected exactly one of ${SLA_KEYS.join(", ")}` });
      return z.NEVER;
    }
    const amount = o[key] ?? 0;
    const unit = SLA_UNITS[key];
    // 1.1 hours is 66.00000000000001 minutes in floating point: round what is whole within 1e-6.
    const minutes = Math.round(amount * unit.perUnit);
    const problem =
      !Number.isFinite(amount) || amount < 0
        ? `must be zero or more, got ${amount}`
        : Math.abs(amount * unit.perUnit - minutes) > 1e-6
          ? `must be a whole number of minutes, got ${amount} ${unit.perUnit === 60 ? "hours" : "minutes"}`
          : minutes > MAX_SLA_MINUTES
            ? `must be at most one year (${MAX_SLA_MINUTES / unit.perUnit}), got ${amount}`
            : undefined;
    if (problem) {
      ctx.addIssue({ code: "custom", path: [key], message: problem });
      return z.NEVER;
    }
    return { basis: unit.basis, minutes };
  });

export const businessCalendarSchema = z
  .strictObject({
    timeZone,
    hours: weekHours,
    holidays: holidays.default([]),
    sla: slaSchema.optional(),
    handRaiserSla: slaSchema.optional(),
  })
  .superRefine((c, ctx) => {
    if (WEEKDAYS.every((d) => (c.hours[d] ?? []).length === 0)) {
      ctx.addIssue({
        code: "custom",
        path: ["hours"],
        message: "no business hours on any weekday; a 24x7 team writes '00:00-24:00' for each day",
      });
    }
  });

export type BusinessCalendarSpec = z.output<typeof businessCalendarSchema>;

/** Sorted intervals with touching ones joined: '09:00-12:00', '12:00-18:00' → '09:00-18:00'. */
function joined(list: readonly DayInterval[]): DayInterval[] {
  const out: DayInterval[] = [];
  for (const i of [...list].sort((a, b) => a.start - b.start)) {
    const last = out[out.length - 1];
    if (last && i.start <= last.end)
      out[out.length - 1] = { start: last.start, end: Math.max(last.end, i.end) };
    else out.push({ start: i.start, end: i.end });
  }
  return out;
}

export function compileCalendar(spec: BusinessCalendarSpec): BusinessCalendar {
  return {
    timeZone: spec.timeZone,
    week: WEEKDAYS.map((d) => joined(spec.hours[d] ?? [])),
    exceptions: new Map(spec.holidays.map((h) => [h.day, joined(h.hours)])),
    sla: spec.sla,
    handRaiserSla: spec.handRaiserSla,
  };
}

/** Parses with a schema; failing, throws one INPUT_INVALID error with a detail per problem. */
function parseOrThrow<T>(schema: z.ZodType<T>, raw: unknown, message: string): T {
  const parsed = schema.safeParse(raw, { reportInput: true });
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues
    .flatMap(toFieldIssues)
    .map((i) => ({ path: formatPath(i.path), message: i.message }));
  const count = details.length === 1 ? "1 error" : `${details.length} errors`;
  throw new QualifyError("INPUT_INVALID", `${message} (${count})`, details);
}

/**
 * Validates and compiles a calendar (already parsed from YAML or JSON). A bad one throws one
 * INPUT_INVALID error listing every problem with its field path, such as `hours.mon[1]`.
 */
export function parseBusinessCalendar(raw: unknown, source = "calendar"): BusinessCalendar {
  return compileCalendar(
    parseOrThrow(businessCalendarSchema, raw, `${source}: the business calendar is invalid`),
  );
}

/** Validates an SLA written on its own (a routing rule's override), like `parseBusinessCalendar`. */
export function parseSla(raw: unknown, source = "sla"): Sla {
  return parseOrThrow(slaSchema, raw, `${source}: the SLA is invalid`);
}
