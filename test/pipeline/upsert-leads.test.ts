import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.js";
import { fromRow, type LeadRecord, type LeadRow, upsertLeads } from "../../src/pipeline/lead-record.js";
import { DATABASE_KINDS, openTestDatabase } from "../support/test-database.js";

/**
 * Live processing writes leads column by column, as array literals and separator-joined JSON
 * (`upsertLeads`). Whatever a Segment call put in a name, an email, a user id or a trait (quotes,
 * backslashes, braces, commas, control characters, the separator itself), the lead reads back
 * exactly as it was written, and an update replaces every column.
 */

// Any text PostgreSQL can store (no NUL), weighted towards what array literals and the separator
// treat specially.
const text = fc.string({
  unit: fc.oneof(
    fc.constantFrom('"', "\\", "{", "}", ",", " ", "NULL", "\x1e", "\n", "é", "'"),
    fc.string({ minLength: 1, maxLength: 1 }).filter((c) => c !== "\0"),
  ),
  maxLength: 12,
});
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });
const time = fc.integer({ min: 0, max: 2_000_000_000_000 });

const lead = (id: string): fc.Arbitrary<LeadRecord> =>
  fc.record({
    id: fc.constant(id),
    userId: maybe(text),
    email: maybe(text),
    emailDomain: maybe(text),
    name: maybe(text),
    traits: fc.dictionary(text, fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null))),
    traitsAt: maybe(time),
    accountId: maybe(text),
    accountSource: fc.constantFrom("group" as const, "domain" as const, null),
    stage: fc.constantFrom("visitor", "known", "mql", "sql"),
    scores: fc.dictionary(fc.constantFrom("fit", "engagement"), fc.integer({ min: -500, max: 500 })),
    grade: maybe(fc.constantFrom("A", "B", "C", "D")),
    scoresAsOf: maybe(time),
    mqlAt: maybe(time),
    firstMqlAt: maybe(time),
    // The engine's state is opaque here: any JSON object, or none.
    state: maybe(fc.dictionary(text, text).map((o) => o as unknown as NonNullable<LeadRecord["state"]>)),
    modelVersion: maybe(fc.integer({ min: 1, max: 1000 })),
    owner: maybe(text),
    flags: fc.array(text, { maxLength: 3 }),
    mergedInto: maybe(text),
    firstSeenAt: time,
    lastEventAt: maybe(time),
    eventCount: fc.nat(100_000),
  });

describe.each(DATABASE_KINDS)("writing leads on %s", (kind) => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase(kind);
  });
  afterAll(async () => {
    await db.close();
  });

  const read = async (ids: readonly string[]) =>
    (
      await db.query<LeadRow>(
        "select * from leads where workspace_id = 'default' and id = any($1) order by id",
        [ids],
      )
    ).map(fromRow);

  it("stores any values verbatim, and an update replaces them all", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(lead("x"), lead("x")), { minLength: 1, maxLength: 3 }),
        async (pairs) => {
          run++;
          const firsts = pairs.map(([first], i) => ({ ...first, id: `lead-${run}-${i}` }));
          const seconds = pairs.map(([, second], i) => ({ ...second, id: `lead-${run}-${i}` }));
          const ids = firsts.map((l) => l.id);
          await upsertLeads(db, "default", firsts);
          expect(await read(ids)).toEqual(firsts);
          await upsertLeads(db, "default", seconds);
          expect(await read(ids)).toEqual(seconds);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("writes nothing for no leads", async () => {
    const all = () => db.query("select * from leads order by workspace_id, id");
    const before = await all();
    await upsertLeads(db, "default", []);
    expect(await all()).toEqual(before);
  });
});
