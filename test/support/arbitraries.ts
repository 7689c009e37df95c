import fc from "fast-check";
import { stringify } from "yaml";
import { FACTS, type Input } from "../../src/engine/index.js";

/**
 * fast-check generators for models and lead histories. Models cover every rule kind (caps,
 * frequency, once, each decay kind, group caps and floors, fit cases, hand-raisers, both kinds
 * of disqualifier, recycling); histories have equal timestamps, trait changes, account changes
 * and stage facts.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
export const T0 = Date.parse("2026-01-01T00:00:00Z");

const EVENTS = ["Asset Downloaded", "Webinar Attended", "Email Opened", "Form Submitted", "Demo Requested"];
const PATHS = ["/pricing", "/pricing/team", "/careers", "/blog"];

const points = fc.oneof(
  fc.integer({ min: -10, max: 40 }),
  fc.integer({ min: -1000, max: 4000 }).map((c) => c / 100),
);
const duration = fc.oneof(
  fc.integer({ min: 1, max: 20 }).map((d) => `${d}d`),
  fc.integer({ min: 1, max: 48 }).map((h) => `${h}h`),
);
const decay = fc.oneof(
  fc.constant("none"),
  duration.map((d) => ({ halfLife: d })),
  duration.map((d) => ({ lookback: d })),
);

const matcher = fc.oneof(
  fc.constantFrom(...EVENTS),
  fc.record({
    type: fc.constant("page"),
    where: fc.record({ property: fc.constant("path"), prefix: fc.constantFrom(...PATHS) }),
  }),
  fc.record({
    event: fc.constantFrom(...EVENTS),
    where: fc.record({ property: fc.constant("type"), in: fc.constant(["ebook", "whitepaper"]) }),
  }),
);

/** An optional key, present about one time in `n`. */
const maybe = <T>(arb: fc.Arbitrary<T>, n: number): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: n - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

const rule = (id: string) =>
  fc
    .record({
      match: matcher,
      points,
      group: fc.constantFrom("engagement", "engagement", "product", "fit"),
      once: maybe(fc.constant(true), 4),
      cap: maybe(fc.record({ points: fc.integer({ min: 1, max: 60 }), window: duration }), 2),
      frequency: maybe(fc.record({ count: fc.integer({ min: 2, max: 3 }), window: duration }), 4),
      decay: maybe(decay, 2),
    })
    .map((r) => {
      const out: Record<string, unknown> = { id };
      for (const [k, v] of Object.entries(r)) if (v !== undefined) out[k] = v;
      if (r.cap && r.points <= 0) delete out.cap;
      return out;
    });

const fitRules = fc.constant([
  {
    id: "seniority",
    cases: [
      { label: "exec", when: { trait: "title", regex: "\\b(vp|chief)\\b" }, points: 30 },
      { label: "manager", when: { trait: "title", contains: "manager" }, points: 10 },
    ],
  },
  { id: "size", when: { account: "employees", gte: 200 }, points: 25 },
  { id: "freemail", when: { trait: "email_domain", in: ["gmail.com"] }, points: -15 },
]);

const group = fc.record(
  { decay, cap: fc.integer({ min: 10, max: 120 }), floor: fc.integer({ min: -30, max: 0 }) },
  { requiredKeys: [] },
);

export const modelYaml = fc
  .record({
    rules: fc
      .integer({ min: 1, max: 6 })
      .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => rule(`r${i}`)))),
    engagement: group,
    product: group,
    threshold: fc.integer({ min: 1, max: 40 }),
    // Grade leaves that keep the condition monotone in the scores, and some that do not.
    grade: fc.constantFrom<Record<string, unknown>>(
      { minGrade: "A" },
      { minGrade: "B" },
      { minGrade: "C" },
      { minGrade: "D" },
      { grade: ["A", "B"] },
      { grade: ["C"] },
      { not: { grade: ["D"] } },
    ),
    cooldown: fc.option(duration, { nil: undefined }),
  })
  .map((m) =>
    stringify({
      name: "generated",
      version: 1,
      groups: { engagement: m.engagement, product: m.product },
      rules: m.rules,
      fit: [],
      grades: { A: 50, B: 30, C: 10 },
      qualification: {
        mql: {
          any: [
            { all: [{ score: "engagement", gte: m.threshold }, m.grade] },
            { score: "product", gte: m.threshold },
          ],
        },
        handRaisers: [{ id: "demo", match: "Demo Requested" }],
        disqualifiers: [
          { id: "student", mode: "block", when: { trait: "title", contains: "student" } },
          { id: "rival", mode: "terminal", when: { trait: "email_domain", equals: "rival.example" } },
          {
            id: "spam",
            mode: "terminal",
            match: { event: "Form Submitted", where: { property: "honeypot", exists: true } },
          },
        ],
      },
      recycle: { reset: ["engagement"], keep: ["fit"], ...(m.cooldown ? { cooldown: m.cooldown } : {}) },
    }),
  )
  .chain((yaml) => fitRules.map((fit) => yaml.replace("fit: []", stringify({ fit }).trimEnd())));

/** Offsets on a coarse grid, so that equal timestamps are common. */
const offset = fc.integer({ min: 0, max: 60 }).map((k) => k * 6 * HOUR);

type Body = Omit<Input, "id" | "at">;

const body: fc.Arbitrary<Body> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("event" as const),
      type: fc.constant("track" as const),
      event: fc.oneof(
        { weight: 12, arbitrary: fc.constantFrom(...EVENTS.slice(0, -1)) },
        { weight: 1, arbitrary: fc.constant("Demo Requested") },
      ),
      properties: fc.oneof(
        { weight: 4, arbitrary: fc.constant({}) },
        { weight: 4, arbitrary: fc.constant({ type: "ebook" }) },
        { weight: 1, arbitrary: fc.constant({ honeypot: "x" }) },
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("event" as const),
      type: fc.constant("page" as const),
      properties: fc.constantFrom(...PATHS).map((path) => ({ path })),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("event" as const),
      type: fc.constant("identify" as const),
      traits: fc.record(
        {
          email: fc.oneof(
            { weight: 6, arbitrary: fc.constantFrom("ana@acme.com", "bo@gmail.com") },
            { weight: 1, arbitrary: fc.constantFrom("spy@rival.example", null) },
          ),
          title: fc.constantFrom("VP Marketing", "Marketing Manager", "PhD Student", "Engineer", null),
        },
        { requiredKeys: [] },
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("event" as const),
      type: fc.constant("group" as const),
      groupId: fc.constantFrom("g1", "g2"),
      traits: fc.record({ employees: fc.constantFrom(20, 300, 5000) }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("account" as const),
      groupId: fc.constantFrom("g1", "g2"),
      traits: fc.record({ employees: fc.constantFrom(20, 300, null) }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("fact" as const),
      fact: fc.constantFrom(...FACTS),
      actor: fc.constantFrom("user", "crm" as const),
    }),
  },
);

/** A lead's history: unique ids, times on a coarse grid; ids are not in time order. */
export const history = fc
  .array(fc.tuple(offset, body, fc.integer({ min: 0, max: 999_999 })), { minLength: 1, maxLength: 30 })
  .map((rows) =>
    rows.map(
      ([off, b, salt], i) => ({ ...b, id: `${String(salt).padStart(6, "0")}-${i}`, at: T0 + off }) as Input,
    ),
  );

export { DAY, HOUR };
