import fc from "fast-check";
import { DateTime, IANAZone } from "luxon";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { QualifyError } from "../../src/errors.js";
import {
  type BusinessCalendar,
  parseBusinessCalendar,
  parseSla,
  type Sla,
} from "../../src/handoff/business-calendar.js";
import { isOpen, nextOpening } from "../../src/handoff/business-time.js";
import { businessMillisBetween, businessMinutesBetween, dueAt } from "../../src/handoff/sla-due.js";

/**
 * The SLA clock: the worked examples of issue 5 (Friday 17:30 + 4 business hours, DST weekends),
 * holidays, breaks, closed days, the clock-change semantics of `business-time.ts`, validation
 * messages, the loop guards, and properties over generated calendars.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const NY = "America/New_York";
const BERLIN = "Europe/Berlin";
const NINE_TO_SIX = ["09:00-18:00"];
const weekdays = (hours: string[]) => ({ mon: hours, tue: hours, wed: hours, thu: hours, fri: hours });
const allWeek = (hours: string[]) => ({ ...weekdays(hours), sat: hours, sun: hours });

function calendar(timeZone: string, hours: object = weekdays(NINE_TO_SIX), holidays: unknown[] = []) {
  return parseBusinessCalendar({ timeZone, hours, holidays });
}

/** A local time in the zone; refuses skipped and repeated times (write those with an offset). */
function at(zone: string, local: string): number {
  const dt = DateTime.fromISO(local, { zone });
  if (!dt.isValid) throw new Error(`bad time ${local}`);
  const ms = dt.toMillis();
  const z = IANAZone.create(zone);
  if (z.offset(ms - HOUR) !== z.offset(ms + HOUR) && !/[+-]\d\d:\d\d$|Z$/.test(local)) {
    throw new Error(`${local} is next to a clock change in ${zone}; give its offset`);
  }
  return ms;
}

/** "Mon 2026-01-12 12:30 -05:00": local weekday, date, time and offset. */
const local = (zone: string, ms: number) =>
  DateTime.fromMillis(ms, { zone, locale: "en-US" }).toFormat("ccc yyyy-MM-dd HH:mm ZZ");

/** New York shorthands: the due time as `local` shows it, and business minutes between local times. */
const dueInNY = (cal: BusinessCalendar, start: string, sla: Sla) => local(NY, dueAt(cal, at(NY, start), sla));
const minutesInNY = (cal: BusinessCalendar, from: string, to: string) =>
  businessMinutesBetween(cal, at(NY, from), at(NY, to));

const businessHours = (h: number): Sla => ({ basis: "business", minutes: h * 60 });
const businessMinutes = (m: number): Sla => ({ basis: "business", minutes: m });

describe("worked example: 4 business hours from Friday 17:30 (09:00-18:00, Mon-Fri)", () => {
  it.each([NY, BERLIN, "Asia/Kolkata", "Australia/Sydney"])("is due Monday 12:30 in %s", (zone) => {
    const cal = calendar(zone);
    const start = at(zone, "2026-01-09T17:30");
    const due = dueAt(cal, start, businessHours(4));
    expect(local(zone, due)).toMatch(/^Mon 2026-01-12 12:30 /);
    expect(businessMinutesBetween(cal, start, due)).toBe(240);
  });

  it("counts 30 minutes on Friday and 3.5 hours on Monday", () => {
    const cal = calendar(NY);
    expect(businessMinutesBetween(cal, at(NY, "2026-01-09T17:30"), at(NY, "2026-01-12T09:00"))).toBe(30);
    expect(businessMinutesBetween(cal, at(NY, "2026-01-12T09:00"), at(NY, "2026-01-12T12:30"))).toBe(210);
  });
});

describe("worked example: a DST-change weekend", () => {
  it.each([
    // zone, Friday, Monday, Monday's offset, real hours from Friday 16:00 to Monday 11:00
    [NY, "2026-03-06", "Mon 2026-03-09 11:00 -04:00", 66], // spring forward, Sun 2026-03-08
    [NY, "2026-10-30", "Mon 2026-11-02 11:00 -05:00", 68], // fall back, Sun 2026-11-01
    [BERLIN, "2026-03-27", "Mon 2026-03-30 11:00 +02:00", 66], // EU spring, Sun 2026-03-29
    [BERLIN, "2026-10-23", "Mon 2026-10-26 11:00 +01:00", 68], // EU fall, Sun 2026-10-25
    ["Australia/Sydney", "2026-04-03", "Mon 2026-04-06 11:00 +10:00", 68], // ends Sun 2026-04-05
    ["Australia/Lord_Howe", "2026-04-03", "Mon 2026-04-06 11:00 +10:30", 67.5], // a 30-minute shift
  ] as const)("%s: Friday %s 16:00 + 4 business hours is %s", (zone, friday, monday, realHours) => {
    const cal = calendar(zone);
    const start = at(zone, `${friday}T16:00`);
    const due = dueAt(cal, start, businessHours(4));
    expect(local(zone, due)).toBe(monday);
    expect((due - start) / HOUR).toBe(realHours);
    expect(businessMinutesBetween(cal, start, due)).toBe(240);
  });

  it("a 24x7 team counts the real hours of the weekend: 47, 48 or 49", () => {
    const cal = calendar(NY, allWeek(["00:00-24:00"]));
    expect(minutesInNY(cal, "2026-03-07T00:00", "2026-03-09T00:00")).toBe(47 * 60);
    expect(minutesInNY(cal, "2026-03-14T00:00", "2026-03-16T00:00")).toBe(48 * 60);
    expect(minutesInNY(cal, "2026-10-31T00:00", "2026-11-02T00:00")).toBe(49 * 60);
    // 24 business hours are 24 real hours: the wall clock reads an hour more, or less.
    expect(dueInNY(cal, "2026-03-08T00:00", businessHours(24))).toBe("Mon 2026-03-09 01:00 -04:00");
    expect(dueInNY(cal, "2026-11-01T00:00", businessHours(24))).toBe("Sun 2026-11-01 23:00 -05:00");
  });

  it("a night team open 01:00-04:00 on Sundays gets 2 real hours in spring, 4 in the fall", () => {
    const cal = calendar(NY, { sun: ["01:00-04:00"] });
    expect(minutesInNY(cal, "2026-03-08T00:00", "2026-03-09T00:00")).toBe(120);
    expect(minutesInNY(cal, "2026-03-15T00:00", "2026-03-16T00:00")).toBe(180);
    expect(minutesInNY(cal, "2026-11-01T00:00", "2026-11-02T00:00")).toBe(240);
    // Fall back: 150 minutes from 01:00 EDT end at 02:30 EST (the wall clock went back an hour).
    expect(dueInNY(cal, "2026-10-31T12:00", businessMinutes(150))).toBe("Sun 2026-11-01 02:30 -05:00");
    // Spring forward: 01:00-02:00 EST and 03:00-04:00 EDT give 120 minutes; 30 more run into the
    // next Sunday.
    expect(dueInNY(cal, "2026-03-07T12:00", businessMinutes(150))).toBe("Sun 2026-03-15 01:30 -04:00");
  });

  it("a plain-minutes SLA is real elapsed time across the change", () => {
    const cal = calendar(NY);
    const start = at(NY, "2026-03-07T12:00");
    for (const sla of [parseSla({ minutes: 1440 }), parseSla({ hours: 24 })]) {
      const due = dueAt(cal, start, sla);
      expect(due - start).toBe(1440 * MINUTE);
      expect(local(NY, due)).toBe("Sun 2026-03-08 13:00 -04:00");
    }
    const fall = at(NY, "2026-10-31T12:00");
    expect(local(NY, dueAt(cal, fall, parseSla({ minutes: 1440 })))).toBe("Sun 2026-11-01 11:00 -05:00");
  });
});

describe("intervals that touch the skipped or repeated hour (first time the clocks show it)", () => {
  const sundayMinutes = (hours: string[], date: string) => {
    const cal = calendar(NY, { sun: hours });
    return businessMinutesBetween(cal, at(NY, `${date}T00:00`), at(NY, `${date}T12:00`));
  };

  it("spring forward: a skipped start opens at the jump; an interval inside the gap never opens", () => {
    expect(sundayMinutes(["02:30-04:00"], "2026-03-08")).toBe(60);
    expect(sundayMinutes(["02:00-02:30"], "2026-03-08")).toBe(0);
    expect(sundayMinutes(["00:00-02:30"], "2026-03-08")).toBe(120);
    const cal = calendar(NY, { sun: ["02:30-04:00"] });
    expect(local(NY, nextOpening(cal, at(NY, "2026-03-08T00:00")))).toBe("Sun 2026-03-08 03:00 -04:00");
  });

  it("fall back: a repeated time counts at its first occurrence", () => {
    expect(sundayMinutes(["00:30-01:30"], "2026-11-01")).toBe(60);
    expect(sundayMinutes(["01:30-03:00"], "2026-11-01")).toBe(150);
    expect(sundayMinutes(["01:00-04:00"], "2026-11-01")).toBe(240);
    // Touching on the wall clock, touching in real time: 00:00-03:00 is 4 real hours.
    expect(sundayMinutes(["00:00-01:30", "01:30-03:00"], "2026-11-01")).toBe(240);
    const cal = calendar(NY, { sun: ["00:30-01:30"] });
    expect(isOpen(cal, Date.parse("2026-11-01T01:15:00-04:00"))).toBe(true);
    expect(isOpen(cal, Date.parse("2026-11-01T01:15:00-05:00"))).toBe(false);
  });

  it("Lord Howe's 30-minute shift and Chatham's 45-minute zone", () => {
    // Lord Howe, 2026-04-05: 02:00 +11:00 → 01:30 +10:30; 01:00-03:00 lasts 2.5 real hours.
    const lh = calendar("Australia/Lord_Howe", { sun: ["01:00-03:00"] });
    expect(
      businessMinutesBetween(
        lh,
        at("Australia/Lord_Howe", "2026-04-04T12:00"),
        at("Australia/Lord_Howe", "2026-04-06T00:00"),
      ),
    ).toBe(150);
    const chatham = calendar("Pacific/Chatham");
    const start = at("Pacific/Chatham", "2026-01-09T17:30");
    expect(local("Pacific/Chatham", dueAt(chatham, start, businessHours(4)))).toBe(
      "Mon 2026-01-12 12:30 +13:45",
    );
  });
});

describe("holidays, breaks, closed days and an SLA of 0", () => {
  const ny = calendar(NY, weekdays(["09:00-12:00", "13:00-18:00"]), [
    "2026-05-25", // Memorial Day, a Monday
    { date: "2026-12-24", hours: ["09:00-13:00"] }, // a short day
    "2026-12-25",
  ]);

  it("skips a Monday holiday: Friday 17:30 + 4 business hours is Tuesday", () => {
    const due = dueAt(ny, at(NY, "2026-05-22T17:30"), businessHours(4));
    expect(local(NY, due)).toBe("Tue 2026-05-26 13:30 -04:00"); // 09:00-12:00, then 13:00-13:30
    expect(isOpen(ny, at(NY, "2026-05-25T10:00"))).toBe(false);
  });

  it("a short day's hours replace the weekday's", () => {
    const due = dueAt(ny, at(NY, "2026-12-24T12:00"), businessHours(2));
    expect(local(NY, due)).toBe("Mon 2026-12-28 10:00 -05:00"); // 12:00-13:00, then Christmas
    expect(isOpen(ny, at(NY, "2026-12-24T12:30"))).toBe(true); // the weekday's break is gone
    expect(isOpen(ny, at(NY, "2026-12-24T14:00"))).toBe(false);
  });

  it("a start inside the lunch break counts from 13:00", () => {
    const start = at(NY, "2026-06-03T12:15");
    expect(isOpen(ny, start)).toBe(false);
    expect(local(NY, nextOpening(ny, start))).toBe("Wed 2026-06-03 13:00 -04:00");
    expect(local(NY, dueAt(ny, start, businessHours(2)))).toBe("Wed 2026-06-03 15:00 -04:00");
  });

  it("an interval is open at its start and closed at its end", () => {
    expect(isOpen(ny, at(NY, "2026-06-03T09:00"))).toBe(true);
    expect(isOpen(ny, at(NY, "2026-06-03T11:59"))).toBe(true);
    expect(isOpen(ny, at(NY, "2026-06-03T12:00"))).toBe(false);
    expect(isOpen(ny, at(NY, "2026-06-03T13:00"))).toBe(true);
    expect(isOpen(ny, at(NY, "2026-06-03T18:00"))).toBe(false);
    expect(nextOpening(ny, at(NY, "2026-06-03T10:00"))).toBe(at(NY, "2026-06-03T10:00"));
  });

  it("a start on a closed day counts from the next opening", () => {
    for (const start of ["2026-06-06T10:00", "2026-06-07T23:00", "2026-06-06T00:00"]) {
      expect(dueInNY(ny, start, businessHours(1))).toBe("Mon 2026-06-08 10:00 -04:00");
    }
  });

  it("due at the end of an interval, not at the next opening", () => {
    expect(dueInNY(ny, "2026-06-03T14:00", businessHours(4))).toBe("Wed 2026-06-03 18:00 -04:00");
    expect(dueInNY(ny, "2026-06-03T09:00", businessHours(3))).toBe("Wed 2026-06-03 12:00 -04:00");
  });

  it("an SLA of 0 is due at once when open, else at the next opening", () => {
    const open = at(NY, "2026-06-03T10:17");
    expect(dueAt(ny, open, businessMinutes(0))).toBe(open);
    expect(dueInNY(ny, "2026-06-05T18:00", businessMinutes(0))).toBe("Mon 2026-06-08 09:00 -04:00");
    expect(dueInNY(ny, "2026-06-03T12:00", businessMinutes(0))).toBe("Wed 2026-06-03 13:00 -04:00");
    const closed = at(NY, "2026-06-06T10:00");
    expect(dueAt(ny, closed, parseSla({ minutes: 0 }))).toBe(closed);
  });

  it("business minutes between: a week, seconds, and negative when reversed", () => {
    const mon = at(NY, "2026-06-01T00:00");
    const nextMon = at(NY, "2026-06-08T00:00");
    expect(businessMinutesBetween(ny, mon, nextMon)).toBe(5 * 8 * 60);
    expect(businessMinutesBetween(ny, nextMon, mon)).toBe(-5 * 8 * 60);
    expect(businessMillisBetween(ny, at(NY, "2026-06-03T11:59"), at(NY, "2026-06-03T13:00") + 1500)).toBe(
      MINUTE + 1500,
    );
    expect(businessMinutesBetween(ny, mon, mon)).toBe(0);
  });
});

describe("validation", () => {
  function problems(raw: unknown): string[] {
    try {
      parseBusinessCalendar(raw);
    } catch (e) {
      if (!(e instanceof QualifyError)) throw e;
      expect(e.code).toBe("INPUT_INVALID");
      expect(e.message).toMatch(/^calendar: the business calendar is invalid \(\d+ errors?\)$/);
      return e.details.map((d) => `${d.path}: ${d.message}`);
    }
    throw new Error("expected the calendar to be refused");
  }
  const hours = weekdays(NINE_TO_SIX);

  it.each([
    [{ timeZone: "Mars/Olympus", hours }, "timeZone: expected an IANA time zone such as"],
    [{ timeZone: "+01:00", hours }, "timeZone: expected an IANA time zone"],
    [{ timeZone: 1, hours }, "timeZone: expected an IANA time zone"],
    [{ hours }, "timeZone: is required"],
    [{ timeZone: NY, hours, holidays: [{ hours: [] }] }, "holidays[0].date: is required"],
    [{ timeZone: NY }, "hours: is required"],
    [
      { timeZone: NY, hours: { mon: ["9-5"] } },
      "hours.mon[0]: expected a time range like '09:00-18:00', got '9-5'",
    ],
    [{ timeZone: NY, hours: { mon: "09:00-18:00" } }, "hours.mon: expected a list of time ranges"],
    [{ timeZone: NY, hours: { mon: ["09:00-25:00"] } }, "hours.mon[0]: '09:00-25:00' is not a time of day"],
    [{ timeZone: NY, hours: { mon: ["09:60-10:00"] } }, "hours.mon[0]: '09:60-10:00' is not a time of day"],
    [{ timeZone: NY, hours: { mon: ["24:00-24:00"] } }, "hours.mon[0]: '24:00-24:00' is not a time of day"],
    [
      { timeZone: NY, hours: { mon: ["22:00-06:00"] } },
      "hours.mon[0]: '22:00-06:00' ends before it starts; split",
    ],
    [{ timeZone: NY, hours: { mon: ["09:00-09:00"] } }, "hours.mon[0]: '09:00-09:00' ends before it starts"],
    [
      { timeZone: NY, hours: { tue: ["09:00-13:00", "12:00-18:00"] } },
      "hours.tue[1]: '12:00-18:00' overlaps '09:00-13:00'",
    ],
    [
      { timeZone: NY, hours: { wed: ["13:00-18:00", "09:00-12:00"] } },
      "hours.wed[1]: '09:00-12:00' comes before '13:00-18:00'; list a day's hours in order",
    ],
    [{ timeZone: NY, hours: { monday: NINE_TO_SIX } }, "hours.monday: unknown field"],
    [{ timeZone: NY, hours: {} }, "hours: no business hours on any weekday"],
    [{ timeZone: NY, hours: { sat: [], sun: [] } }, "hours: no business hours on any weekday"],
    [
      { timeZone: NY, hours, holidays: ["2026-02-30"] },
      "holidays[0]: expected a date like '2026-12-25', got '2026-02-30'",
    ],
    [{ timeZone: NY, hours, holidays: ["25.12.2026"] }, "holidays[0]: expected a date like"],
    [
      { timeZone: NY, hours, holidays: ["2026-12-25", "2026-12-25"] },
      "holidays[1]: 2026-12-25 is listed twice",
    ],
    [
      { timeZone: NY, hours, holidays: [{ date: "2026-12-24", hours: ["13:00-9:00"] }] },
      "holidays[0].hours[0]: '13:00-9:00' ends before it starts",
    ],
    [{ timeZone: NY, hours, holidays: [{ day: "2026-12-24" }] }, "holidays[0].day: unknown field"],
    [{ timeZone: NY, hours, sla: { businessHours: 4, minutes: 30 } }, "sla: expected exactly one of"],
    [
      { timeZone: NY, hours, sla: {} },
      "sla: expected exactly one of businessHours, businessMinutes, hours, minutes",
    ],
    [{ timeZone: NY, hours, sla: 4 }, "sla: expected an SLA such as { businessHours: 4 } or { minutes: 30 }"],
    [{ timeZone: NY, hours, sla: { businessHours: -1 } }, "sla.businessHours: must be zero or more, got -1"],
    [
      { timeZone: NY, hours, sla: { businessHours: 0.001 } },
      "sla.businessHours: must be a whole number of minutes, got 0.001 hours",
    ],
    [{ timeZone: NY, hours, sla: { minutes: 1e9 } }, "sla.minutes: must be at most one year (525600)"],
    [{ timeZone: NY, hours, handRaiserSla: { seconds: 30 } }, "handRaiserSla.seconds: unknown field"],
    [{ timeZone: NY, hours, extra: 1 }, "extra: unknown field"],
  ])("%j → %s", (raw, expected) => {
    expect(problems(raw).join("\n")).toContain(expected);
  });

  it("lists every problem at once", () => {
    const found = problems({
      timeZone: "Nowhere/Land",
      hours: { mon: ["9-5"] },
      holidays: ["2026-13-01"],
      sla: { minutes: -5 },
    });
    expect(found).toHaveLength(4);
  });

  it("accepts en dashes, spaces, 24:00, dates, short days, and joins touching intervals", () => {
    const cal = parseBusinessCalendar({
      timeZone: BERLIN,
      hours: { mon: ["9:00 – 12:00", "12:00-18:00"], sun: ["20:00-24:00"] },
      holidays: [
        new Date("2026-12-25T00:00:00Z"),
        { date: "2026-12-24", hours: ["09:00-13:00"] },
        { date: "2026-12-31" },
      ],
      sla: { businessHours: 1.5 },
      handRaiserSla: { minutes: 15 },
    });
    expect(cal.week[0]).toEqual([{ start: 540, end: 1080 }]);
    expect(cal.week[6]).toEqual([{ start: 1200, end: 1440 }]);
    expect(cal.exceptions.size).toBe(3);
    expect(cal.sla).toEqual({ basis: "business", minutes: 90 });
    expect(cal.handRaiserSla).toEqual({ basis: "elapsed", minutes: 15 });
  });

  it("reads the YAML form of src/handoff/README.md", () => {
    const cal = parseBusinessCalendar(
      parse(`
timeZone: America/New_York
hours:
  mon: ["09:00-12:00", "13:00-18:00"]
  tue: ["09:00-18:00"]
  sun: ["22:00-24:00"]
holidays:
  - 2026-12-25
  - { date: 2026-12-24, hours: ["09:00-13:00"] }
sla: { businessHours: 4 }
handRaiserSla: { minutes: 30 }
`),
    );
    expect(cal.week[0]).toEqual([
      { start: 540, end: 720 },
      { start: 780, end: 1080 },
    ]);
    expect([...cal.exceptions.values()]).toEqual([[], [{ start: 540, end: 780 }]]);
    expect(cal.sla).toEqual({ basis: "business", minutes: 240 });
    expect(cal.handRaiserSla).toEqual({ basis: "elapsed", minutes: 30 });
  });

  it("parseSla names the field", () => {
    expect(parseSla({ businessMinutes: 45 })).toEqual({ basis: "business", minutes: 45 });
    expect(parseSla({ businessHours: 1.1 })).toEqual({ basis: "business", minutes: 66 });
    expect(parseSla({ hours: 0.25 })).toEqual({ basis: "elapsed", minutes: 15 });
    expect(() => parseSla({ businessHours: "4" })).toThrow(/the SLA is invalid/);
  });
});

describe("guards against searching for ever", () => {
  // Open on Mondays only, and every Monday of 2026 and 2027 is a holiday.
  const mondays: string[] = [];
  for (let d = Date.UTC(2026, 0, 5); d < Date.UTC(2028, 0, 1); d += 7 * 86_400_000) {
    mondays.push(new Date(d).toISOString().slice(0, 10));
  }
  const blocked = calendar(NY, { mon: NINE_TO_SIX }, mondays);

  it("a year of holidays: a clear error instead of a loop", () => {
    const start = at(NY, "2026-01-01T00:00");
    expect(() => dueAt(blocked, start, businessHours(1))).toThrow(/no business hours in the 366 days up to/);
    expect(() => nextOpening(blocked, start)).toThrow(QualifyError);
    // Bounded questions still answer.
    expect(isOpen(blocked, at(NY, "2026-06-01T10:00"))).toBe(false);
    expect(businessMinutesBetween(blocked, start, at(NY, "2027-12-31T00:00"))).toBe(0);
    // 2028 is open again.
    expect(dueInNY(blocked, "2027-06-01T00:00", businessHours(1))).toBe("Mon 2028-01-03 10:00 -05:00");
  });

  it("an SLA the calendar cannot serve within 10 years", () => {
    const tiny = calendar(NY, { mon: ["09:00-09:01"] });
    expect(() => dueAt(tiny, at(NY, "2026-01-01T00:00"), businessMinutes(525_600))).toThrow(
      /does not end within 10 years/,
    );
  });

  it("refuses bad instants and SLAs built in code", () => {
    const cal = calendar(NY);
    expect(() => dueAt(cal, Number.NaN, businessHours(1))).toThrow(QualifyError);
    expect(() => isOpen(cal, Number.POSITIVE_INFINITY)).toThrow(QualifyError);
    expect(() => dueAt(cal, 0, businessMinutes(-1))).toThrow(/whole number of minutes/);
    expect(() => dueAt(cal, 0, businessMinutes(1.5))).toThrow(/whole number of minutes/);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties over generated calendars, with starts near the 2026/2027 clock changes.

const ZONES = [
  NY,
  BERLIN,
  "Australia/Sydney",
  "Australia/Lord_Howe",
  "America/Santiago",
  "America/Havana",
  "Pacific/Chatham",
  "Africa/Casablanca",
  "Asia/Kolkata",
  "UTC",
];
const T0 = Date.UTC(2026, 0, 1);
const T1 = Date.UTC(2028, 0, 1);
const hhmm = (m: number) =>
  `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;

const minuteOfDay = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 48 }).map((h) => h * 30) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 96 }).map((q) => q * 15) },
);
const dayHoursArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant<string[]>([]) },
  { weight: 1, arbitrary: fc.constant<string[]>(["00:00-24:00"]) },
  {
    weight: 4,
    arbitrary: fc.uniqueArray(minuteOfDay, { minLength: 2, maxLength: 6 }).map((cuts) => {
      const sorted = [...cuts].sort((a, b) => a - b);
      const out: string[] = [];
      for (let i = 0; i + 1 < sorted.length; i += 2)
        out.push(`${hhmm(sorted[i] ?? 0)}-${hhmm(sorted[i + 1] ?? 0)}`);
      return out;
    }),
  },
);
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
const weekArb = fc.tuple(...DAYS.map(() => dayHoursArb)).map((days) => {
  const week: Record<string, string[]> = Object.fromEntries(DAYS.map((d, i) => [d, days[i] ?? []]));
  if (days.every((d) => d.length === 0)) week.wed = ["10:00-16:00"];
  return week;
});
const holidayArb = fc.tuple(fc.integer({ min: 0, max: 730 }), fc.option(dayHoursArb)).map(([d, hours]) => {
  const date = new Date(T0 + d * 86_400_000).toISOString().slice(0, 10);
  return hours === null ? date : { date, hours };
});

interface Generated {
  zone: string;
  week: Record<string, string[]>;
  holidays: (string | { date: string; hours: string[] })[];
  cal: BusinessCalendar;
}
const calendarArb = fc
  .record({
    zone: fc.constantFrom(...ZONES),
    week: weekArb,
    holidays: fc.uniqueArray(holidayArb, {
      maxLength: 12,
      selector: (h) => (typeof h === "string" ? h : h.date),
    }),
  })
  .map(
    (g): Generated => ({
      ...g,
      cal: parseBusinessCalendar({ timeZone: g.zone, hours: g.week, holidays: g.holidays }),
    }),
  );

/** Clock changes of 2026/2027 in the zones above (UTC dates); starts cluster around them. */
const CHANGES = [
  "2026-03-08",
  "2026-03-29",
  "2026-04-05",
  "2026-09-06",
  "2026-09-27",
  "2026-10-04",
  "2026-10-25",
  "2026-11-01",
  "2027-03-14",
  "2027-03-28",
  "2027-04-04",
  "2027-10-31",
  "2027-11-07",
].map((d) => Date.parse(`${d}T00:00:00Z`));
const instantArb = fc.oneof(
  fc.integer({ min: T0, max: T1 }),
  fc.integer({ min: T0, max: T1 }).map((t) => t - (t % MINUTE)),
  fc
    .tuple(fc.constantFrom(...CHANGES), fc.integer({ min: -2 * 86_400, max: 2 * 86_400 }))
    .map(([c, s]) => c + s * 1000),
);
const slaMinutesArb = fc.oneof(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 1500 }));

const RUNS = { numRuns: 300 };

/** Whether the team's wall clock shows a business time at `ms`, read the plain way through Luxon. */
function wallClockOpen(g: Generated, ms: number): boolean {
  const dt = DateTime.fromMillis(ms, { zone: g.zone });
  const date = dt.toISODate();
  const holiday = g.holidays.find((h) => (typeof h === "string" ? h : h.date) === date);
  const hours =
    holiday === undefined
      ? (g.week[DAYS[dt.weekday - 1] ?? "mon"] ?? [])
      : typeof holiday === "string"
        ? []
        : holiday.hours;
  const minute = dt.hour * 60 + dt.minute + (dt.second * 1000 + dt.millisecond) / MINUTE;
  return hours.some((h) => {
    const [a, b] = h.split("-").map((t) => {
      const [hh, mm] = t.split(":").map(Number);
      return (hh ?? 0) * 60 + (mm ?? 0);
    });
    return (a ?? 0) <= minute && minute < (b ?? 0);
  });
}

describe("properties", () => {
  it("dueAt is monotone in the start", () => {
    fc.assert(
      fc.property(calendarArb, instantArb, instantArb, slaMinutesArb, (g, a, b, n) => {
        const [s1, s2] = a <= b ? [a, b] : [b, a];
        expect(dueAt(g.cal, s1, businessMinutes(n))).toBeLessThanOrEqual(
          dueAt(g.cal, s2, businessMinutes(n)),
        );
      }),
      RUNS,
    );
  });

  it("exactly N business minutes lie between the start and dueAt, and not one minute less", () => {
    fc.assert(
      fc.property(calendarArb, instantArb, slaMinutesArb, (g, start, n) => {
        const due = dueAt(g.cal, start, businessMinutes(n));
        expect(businessMillisBetween(g.cal, start, due)).toBe(n * MINUTE);
        if (n > 0) expect(businessMillisBetween(g.cal, start, due - 1)).toBeLessThan(n * MINUTE);
      }),
      RUNS,
    );
  });

  it("dueAt is inside business hours or at the end of an interval", () => {
    fc.assert(
      fc.property(calendarArb, instantArb, slaMinutesArb, (g, start, n) => {
        const due = dueAt(g.cal, start, businessMinutes(n));
        expect(due).toBeGreaterThanOrEqual(start);
        expect(isOpen(g.cal, due) || isOpen(g.cal, due - 1)).toBe(true);
      }),
      RUNS,
    );
  });

  it("due times compose: N + M minutes from a start is M minutes from the due time of N", () => {
    fc.assert(
      fc.property(
        calendarArb,
        instantArb,
        slaMinutesArb,
        fc.integer({ min: 1, max: 600 }),
        (g, start, n, m) => {
          const first = dueAt(g.cal, start, businessMinutes(n));
          expect(dueAt(g.cal, first, businessMinutes(m))).toBe(dueAt(g.cal, start, businessMinutes(n + m)));
        },
      ),
      RUNS,
    );
  });

  it("a plain-minutes SLA is due exactly minutes × 60,000 ms later", () => {
    fc.assert(
      fc.property(calendarArb, instantArb, fc.integer({ min: 0, max: 525_600 }), (g, start, n) => {
        expect(dueAt(g.cal, start, { basis: "elapsed", minutes: n }) - start).toBe(n * MINUTE);
      }),
      RUNS,
    );
  });

  it("business time is additive and never more than real time", () => {
    fc.assert(
      fc.property(calendarArb, instantArb, instantArb, instantArb, (g, x, y, z) => {
        const [a, b, c] = [x, y, z].sort((p, q) => p - q) as [number, number, number];
        const ab = businessMillisBetween(g.cal, a, b);
        expect(ab).toBeGreaterThanOrEqual(0);
        expect(ab).toBeLessThanOrEqual(b - a);
        expect(ab + businessMillisBetween(g.cal, b, c)).toBe(businessMillisBetween(g.cal, a, c));
        expect(businessMillisBetween(g.cal, b, a) + ab).toBe(0);
      }),
      { numRuns: 100 },
    );
  });

  it("isOpen agrees with the wall clock wherever the local time is not repeated", () => {
    fc.assert(
      fc.property(calendarArb, instantArb, (g, t) => {
        const zone = IANAZone.create(g.zone);
        fc.pre(zone.offset(t - 3 * HOUR) === zone.offset(t + 3 * HOUR));
        expect(isOpen(g.cal, t)).toBe(wallClockOpen(g, t));
      }),
      { numRuns: 1000 },
    );
  });

  it("nextOpening is the first open instant at or after the time", () => {
    fc.assert(
      fc.property(calendarArb, instantArb, (g, t) => {
        const next = nextOpening(g.cal, t);
        expect(next).toBeGreaterThanOrEqual(t);
        expect(isOpen(g.cal, next)).toBe(true);
        expect(businessMillisBetween(g.cal, t, next)).toBe(0);
        expect(next === t).toBe(isOpen(g.cal, t));
      }),
      RUNS,
    );
  });
});
