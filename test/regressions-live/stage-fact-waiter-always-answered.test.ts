import { describe, expect, it } from "vitest";
import { leadIdOf, sendOne } from "../support/live-checks.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService } from "../support/test-service.js";

/**
 * Regression: POST /api/leads/:id/stage waits for its fact to be processed. A fact deleted by an
 * erasure before its turn, or set aside after failing three times, was never processed, and the
 * request (and a graceful shutdown behind it) hung forever. Fixed with `Pipeline.settle`.
 */

const T0 = Date.parse("2026-04-01T09:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();
const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<"hung">((r) => setTimeout(() => r("hung"), ms))]);

describe.each(DATABASE_KINDS)("a request waiting on its stage fact always gets an answer (%s)", (kind) => {
  it("when the lead is erased before the fact is processed", async () => {
    const s = await startTestService(kind, { clock: () => T0 + 3_600_000 });
    try {
      const db = s.service.db;
      await sendOne(s, {
        type: "identify",
        messageId: "i-1",
        userId: "amy",
        traits: { email: "amy@acme.com" },
        timestamp: iso(T0),
      });
      await s.drain();
      const id = (await leadIdOf(db, "amy")) as string;
      // No loop: this test runs the pipeline's turns itself, so that the erasure comes first.
      await s.service.pipeline.stop();
      const answer = s.api("POST", `/api/leads/${id}/stage`, { fact: "disqualified" });
      for (let i = 0; i < 200; i++) {
        if ((await db.query("select 1 from events where kind = 'fact'")).length > 0) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, 50));
      const erased = await s.api("DELETE", `/api/leads/${id}`);
      expect(erased.status).toBe(200);
      await s.drain();
      const r = await within(answer, 3000);
      expect(r).not.toBe("hung");
      expect((r as { status: number }).status).toBeLessThan(500);
    } finally {
      await s.close();
    }
  });

  it("when the fact fails processing and is set aside", async () => {
    const s = await startTestService(kind, { clock: () => T0 + 3_600_000 });
    try {
      const db = s.service.db;
      await sendOne(s, {
        type: "identify",
        messageId: "i-2",
        userId: "bea",
        traits: { email: "bea@acme.com" },
        timestamp: iso(T0),
      });
      await s.drain();
      const id = (await leadIdOf(db, "bea")) as string;
      // A fact the engine cannot apply (as a corrupt row or a bug would make): processing it throws.
      const [seq] = await s.service.writer.append([
        {
          workspaceId: "default",
          kind: "fact",
          type: null,
          userId: null,
          anonymousId: null,
          previousId: null,
          leadId: id,
          receivedAt: T0,
          // biome-ignore lint/suspicious/noExplicitAny: a deliberately broken input
          input: { kind: "fact", id: "fact:broken", at: T0 + 1, fact: "no-such-fact", actor: "user" } as any,
          notify: true,
        },
      ]);
      const r = await within(s.service.pipeline.waitFor("default", seq as number), 10_000);
      expect(r).not.toBe("hung");
      expect(s.service.pipeline.stats.quarantined).toBe(1);
    } finally {
      await s.close();
    }
  });
});
