import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/database.js";
import { makeEvent } from "../../src/engine/make-event.js";
import { appendEvents, EventWriter, type NewEvent } from "../../src/ingest/append-events.js";
import { DATABASE_KINDS, openTestDatabase } from "../support/test-database.js";

/**
 * The durable append: one INSERT per group with the values as arrays, a plain INSERT first and
 * `on conflict do nothing` only once a messageId turns out to be stored, several group commits in
 * flight on PostgreSQL. Seqs follow the order given; a messageId counts once per workspace.
 */

const T = Date.parse("2026-03-01T09:00:00Z");
let next = 0;

function event(id: string, over: Partial<NewEvent> = {}): NewEvent {
  const input = makeEvent(id, T + next++, "track");
  input.event = "Asset Downloaded";
  input.properties = { title: `"quoted" \\ and {braces}, commas`, n: next };
  return {
    workspaceId: "default",
    kind: "event",
    type: "track",
    userId: `u-${next % 3}`,
    anonymousId: null,
    previousId: null,
    leadId: null,
    receivedAt: T,
    input,
    notify: true,
    ...over,
  };
}

describe.each(DATABASE_KINDS)("appending events on %s", (kind) => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase(kind);
  });
  afterAll(async () => {
    await db?.close();
  });

  const stored = async (ids: string[]) =>
    db.query<{ workspace_id: string; message_id: string; seq: number; kind: string; lead_id: string | null }>(
      "select workspace_id, message_id, seq, kind, lead_id, input from events where message_id = any($1) order by seq",
      [ids],
    );

  it("stores every event in the order given and answers each one's seq", async () => {
    const events = Array.from({ length: 50 }, (_, i) => event(`order-${i}`));
    const seqs = await appendEvents(db, events);
    const rows = await stored(events.map((e) => e.input.id));
    expect(rows.map((r) => r.message_id)).toEqual(events.map((e) => e.input.id));
    expect(seqs).toEqual(rows.map((r) => r.seq));
  });

  it("answers null for a messageId already stored and for a second copy in the same call", async () => {
    const [a, b] = [event("dup-a"), event("dup-b")];
    const [seqA] = await appendEvents(db, [a]);
    const c = event("dup-c");
    const again = await appendEvents(db, [event("dup-a"), b, c, event("dup-b"), event("dup-a")]);
    const rows = await stored(["dup-a", "dup-b", "dup-c"]);
    expect(rows.map((r) => r.message_id)).toEqual(["dup-a", "dup-b", "dup-c"]);
    expect(rows[0]?.seq).toBe(seqA);
    expect(again).toEqual([null, rows[1]?.seq, rows[2]?.seq, null, null]);
    // The same messageId in another workspace is another event.
    const [other] = await appendEvents(db, [event("dup-a", { workspaceId: "elsewhere" })]);
    expect(other).toEqual(expect.any(Number));
  });

  it("writes rows that differ in every column, facts among events", async () => {
    const fact = event("mixed-fact", {
      kind: "fact",
      type: null,
      userId: null,
      leadId: "lead-1",
      notify: false,
      receivedAt: T + 5,
    });
    const first = event("mixed-1", { anonymousId: "anon-1" });
    const events = [first, fact, event("mixed-2", { workspaceId: "ws-2" })];
    const seqs = await appendEvents(db, events);
    const rows = await stored(events.map((e) => e.input.id));
    expect(rows.map((r) => [r.workspace_id, r.message_id, r.kind, r.lead_id])).toEqual([
      ["default", "mixed-1", "event", null],
      ["default", "mixed-fact", "fact", "lead-1"],
      ["ws-2", "mixed-2", "event", null],
    ]);
    expect(seqs).toEqual(rows.map((r) => r.seq));
    const [row] = await db.query<{ input: { properties: unknown } }>(
      "select input from events where message_id = 'mixed-1'",
    );
    expect(row?.input.properties).toEqual((first.input as { properties?: unknown }).properties);
  });

  it("writes a call larger than one statement in one transaction, skipping what is stored", async () => {
    const events = Array.from({ length: 12_000 }, (_, i) => event(`big-${i}`));
    await appendEvents(db, [events[7_000] as NewEvent]);
    const seqs = await appendEvents(db, events);
    expect(seqs.filter((s) => s === null)).toHaveLength(1);
    expect(seqs[7_000]).toBeNull();
    const ordered = seqs.filter((s): s is number => s !== null);
    expect(ordered).toEqual([...ordered].sort((x, y) => x - y));
    const [n] = await db.query<{ n: number }>(
      "select count(*)::int as n from events where message_id like 'big-%'",
    );
    expect(n?.n).toBe(12_000);
  });

  it("group commit: concurrent calls sharing messageIds store each once and answer each call its own", async () => {
    const writer = new EventWriter(db);
    const calls = Array.from({ length: 40 }, (_, c) =>
      Array.from({ length: 1 + (c % 7) }, (_, i) => event(`conc-${(c * 3 + i) % 60}`)),
    );
    const results = await Promise.all(calls.map((events) => writer.append(events)));
    await writer.flushed();
    const ids = [...new Set(calls.flat().map((e) => e.input.id))];
    const rows = await stored(ids);
    expect(rows).toHaveLength(ids.length);
    const seqOf = new Map(rows.map((r) => [r.message_id, r.seq]));
    const answered = results.flat().filter((s): s is number => s !== null);
    expect(answered.sort((x, y) => x - y)).toEqual([...seqOf.values()].sort((x, y) => x - y));
    for (const [c, events] of calls.entries())
      for (const [i, e] of events.entries()) {
        const seq = results[c]?.[i];
        if (seq !== null) expect(seq).toBe(seqOf.get(e.input.id));
      }
  });
});
