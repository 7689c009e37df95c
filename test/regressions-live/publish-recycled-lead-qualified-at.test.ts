import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { leadIdOf, sendOne } from "../support/live-checks.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService } from "../support/test-service.js";

/**
 * Regression: publishing dated a newly qualifying lead by the first MQL of its replay under the new
 * model. For a lead recycled after an earlier qualification that is the old one, so the preview's
 * week and the transition's triggerAt/wouldHaveQualifiedAt were months off. Fixed in
 * publish-model.ts: the last MQL, the one the replay ends in.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse("2026-04-01T09:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

describe.each(DATABASE_KINDS)("publishing, for a lead recycled after its first MQL (%s)", (kind) => {
  it("dates the new MQL by the qualification the new model ends in, not the first one", async () => {
    const clock = { now: T0 + 3 * HOUR };
    const s = await startTestService(kind, { clock: () => clock.now });
    try {
      const db = s.service.db;
      await sendOne(s, {
        type: "identify",
        messageId: "r1",
        userId: "rex",
        traits: { email: "rex@acme.com", title: "VP Marketing" },
        timestamp: iso(T0),
      });
      await sendOne(s, {
        type: "track",
        messageId: "r2",
        userId: "rex",
        event: "Form Submitted",
        timestamp: iso(T0 + HOUR),
      });
      await sendOne(s, {
        type: "track",
        messageId: "r3",
        userId: "rex",
        event: "Demo Requested",
        timestamp: iso(T0 + 2 * HOUR),
      });
      await s.drain();
      const id = (await leadIdOf(db, "rex")) as string;
      clock.now = T0 + DAY;
      expect((await s.api("POST", `/api/leads/${id}/stage`, { fact: "rejected" })).status).toBe(200);
      clock.now = T0 + 40 * DAY + HOUR;
      await sendOne(s, {
        type: "track",
        messageId: "r4",
        userId: "rex",
        event: "Webinar Attended",
        timestamp: iso(T0 + 40 * DAY),
      });
      await s.drain();
      expect((await s.api("GET", `/api/leads/${id}`)).body.stage).toBe("recycled");

      // v2: attending a webinar is a hand-raise.
      const source = readFileSync("models/default.yaml", "utf8").replace(
        "  handRaisers:\n",
        "  handRaisers:\n    - id: webinar\n      match: Webinar Attended\n",
      );
      const added = await s.api("POST", "/api/models", { source });
      expect(added.status).toBe(201);
      expect(added.body.preview.byWeek).toEqual([{ week: "2026-05-11", leads: 1, active: 1 }]);
      const pub = await s.api("POST", "/api/models/2/publish", { confirm: true });
      expect(pub.body).toMatchObject({ newlyQualified: 1 });
      const history = (await s.api("GET", `/api/leads/${id}`)).body.history;
      const last = history[history.length - 1];
      expect(last).toMatchObject({ to: "mql", actor: "model:v2", wouldHaveQualifiedAt: iso(T0 + 40 * DAY) });
    } finally {
      await s.close();
    }
  });
});
