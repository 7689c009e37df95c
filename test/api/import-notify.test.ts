import { afterEach, describe, expect, it } from "vitest";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService, type TestService } from "../support/test-service.js";

/** `qualify import` makes transitions as live events do, but notifications only with `notify`. */
const history = (user: string, anon: string) =>
  [
    {
      type: "page",
      anonymousId: anon,
      timestamp: "2026-10-01T09:00:00Z",
      properties: { url: "https://x.example/pricing" },
    },
    {
      type: "identify",
      anonymousId: anon,
      userId: user,
      timestamp: "2026-10-01T09:01:00Z",
      traits: { email: `${user}@acme.example`, title: "VP Marketing" },
    },
    { type: "track", userId: user, event: "Demo Requested", timestamp: "2026-10-01T09:02:00Z" },
  ].map((e) => JSON.stringify(e));

describe.each(DATABASE_KINDS)("import on %s", (kind) => {
  let service: TestService;
  afterEach(async () => service?.close());

  it("records transitions and merges without notifications unless asked", async () => {
    service = await startTestService(kind, { clock: () => Date.parse("2026-10-02T00:00:00Z") });
    const quiet = await service.api("POST", "/api/import", { lines: history("quiet", "a-quiet") });
    expect(quiet.body).toMatchObject({ accepted: 3, rejected: [] });
    await service.drain();
    const db = service.service.db;
    const outbox = async () =>
      (await db.query<{ topic: string }>("select topic from outbox order by seq")).map((r) => r.topic);
    const quietMql = await service.api("GET", "/api/leads?userId=quiet");
    expect(quietMql.body.items[0].stage).toBe("mql");
    expect(await outbox()).toEqual([]);

    await service.api("POST", "/api/import", { lines: history("loud", "a-loud"), notify: true });
    await service.drain();
    expect(await outbox()).toEqual(expect.arrayContaining(["lead.mql", "lead.stage_changed"]));
  });
});
