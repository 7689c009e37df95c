import { describe, expect, it } from "vitest";
import type { Queryable } from "../../src/db/database.js";
import type { LeadState } from "../../src/engine/index.js";
import { activeModel } from "../../src/pipeline/model-store.js";
import { processBatch } from "../../src/pipeline/process-batch.js";
import { type Call, sendBatch } from "../support/live-checks.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService } from "../support/test-service.js";

/**
 * The account a lead's row shows (`account_id`, `account_source`) is the one the engine scores it
 * by (`state.s.gid`), after every batch, not only once the pipeline has caught up: a join the
 * pipeline decides is stored when the lead's own batch processes it. A model publish writes it
 * from the rebuilt state too.
 */

const WS = "default";
const T0 = Date.parse("2026-05-04T09:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();
let n = 0;
const call = (type: string, userId: string, at: number, rest: Record<string, unknown>): Call => ({
  type,
  messageId: `follow-${++n}`,
  userId,
  timestamp: iso(at),
  ...rest,
});

interface Row {
  id: string;
  user_id: string;
  account_id: string | null;
  account_source: string | null;
  state: LeadState;
}

async function leads(db: Queryable): Promise<Row[]> {
  return db.query<Row>(
    "select id, user_id, account_id, account_source, state from leads where workspace_id = $1 and merged_into is null order by user_id",
    [WS],
  );
}

/** Every lead's stored account is its engine state's. */
async function expectFollowing(db: Queryable, when: string): Promise<void> {
  for (const l of await leads(db)) {
    const s = l.state.s;
    const source = s.gid === null ? null : s.gr === 2 ? "group" : "domain";
    expect({ when, lead: l.user_id, account: l.account_id, source: l.account_source }).toEqual({
      when,
      lead: l.user_id,
      account: s.gid,
      source,
    });
  }
}

/** A service that processes nothing by itself: the test runs its batches (`oneBatch`). */
async function manualService(kind: "pglite" | "postgres") {
  const service = await startTestService(kind, { clock: () => T0 + 3_600_000, processing: false });
  const db = service.service.db;
  const oneBatch = async () => processBatch(db, WS, await activeModel(db, WS), T0 + 3_600_000, 1_000, null);
  return { service, db, oneBatch };
}

describe.each(DATABASE_KINDS)("a lead's stored account on %s", (kind) => {
  it("is the engine's after every batch, and after a publish", async () => {
    const { service, db, oneBatch } = await manualService(kind);
    try {
      // One batch: Ada's company email matches no account yet (an implicit one is made); then
      // Bob's group call names acme.com, so Ada is to join Acme, in a later batch.
      await sendBatch(service, [
        call("identify", "ada", T0, { traits: { email: "ada@acme.com", title: "VP Marketing" } }),
        call("group", "bob", T0 + 1_000, {
          groupId: "acc-acme",
          traits: { name: "Acme", domain: "acme.com", industry: "Software" },
        }),
      ]);
      const first = await oneBatch();
      expect(first.taken).toBe(2);
      await expectFollowing(db, "after the calls' batch");
      const [ada] = (await leads(db)).filter((l) => l.user_id === "ada");
      expect(ada?.account_id).not.toBe("acc-acme");

      // The derived joins are processed by the next batches.
      while ((await oneBatch()).taken > 0) await expectFollowing(db, "after a join's batch");
      const joined = await leads(db);
      expect(joined.map((l) => [l.user_id, l.account_id, l.account_source])).toEqual([
        ["ada", "acc-acme", "domain"],
        ["bob", "acc-acme", "group"],
      ]);

      // A row that disagrees with its state (as one stored under the rule before accounts were
      // ranked could): a publish rescores the lead from its events and stores the state's account.
      await db.query(
        "update leads set account_id = 'domain:acme.com' where workspace_id = $1 and user_id = 'ada'",
        [WS],
      );
      const [{ source } = { source: "" }] = await db.query<{ source: string }>(
        "select source from models where workspace_id = $1 and version = 1",
        [WS],
      );
      const stored = await service.api("POST", "/api/models", { source: `${source}\n# republished\n` });
      expect(stored.status).toBe(201);
      const published = await service.api("POST", "/api/models/2/publish", {
        confirm: true,
      });
      expect(published.status).toBe(200);
      await expectFollowing(db, "after a publish");
      expect((await leads(db)).map((l) => [l.user_id, l.account_id])).toEqual([
        ["ada", "acc-acme"],
        ["bob", "acc-acme"],
      ]);
    } finally {
      await service.close();
    }
  });
  it("gives a domain an implicit account in the batch whose group call moved its account off it", async () => {
    const { service, db, oneBatch } = await manualService(kind);
    try {
      await sendBatch(service, [
        call("group", "dan", T0, { groupId: "acc-x", traits: { name: "X", domain: "x.example" } }),
      ]);
      expect((await oneBatch()).taken).toBe(1);
      // One batch: Dan's account moves to y.example, then Cy of x.example identifies. No account
      // has x.example any more, so Cy's company gets an implicit one, made in this batch.
      await sendBatch(service, [
        call("group", "dan", T0 + 1_000, { groupId: "acc-x", traits: { domain: "y.example" } }),
        call("identify", "cy", T0 + 2_000, { traits: { email: "cy@x.example" } }),
      ]);
      const moved = await oneBatch();
      expect(moved.processed).toBe(2);
      while ((await oneBatch()).taken > 0);
      await expectFollowing(db, "after the batches");
      expect(
        await db.query("select id, domain from accounts where workspace_id = $1 order by id", [WS]),
      ).toEqual([
        { id: "acc-x", domain: "y.example" },
        { id: "domain:x.example", domain: "x.example" },
      ]);
      expect((await leads(db)).map((l) => [l.user_id, l.account_id])).toEqual([
        ["cy", "domain:x.example"],
        ["dan", "acc-x"],
      ]);
    } finally {
      await service.close();
    }
  });
});
