import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postIngest } from "../support/live-checks.js";
import { qualify as runQualify } from "../support/live-cli.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from "../support/test-service.js";

/**
 * The handoff's accountability on a hand-counted history (docs/analytics.md). One team, `sdr`,
 * round robin by email between alice (capacity 10 a week) and bob (5), a 4-hour SLA around the
 * clock. Four leads become MQLs on Monday 7 September 2026 at 10:00 UTC, routed alice, bob,
 * alice, bob:
 * - L1 (alice): accepted after 1 h: met; then converted, an opportunity, and won (48,000 EUR);
 * - L2 (bob): rejected "no budget" after 2 h: met, and recycled;
 * - L3 (alice): accepted after 5 h: missed (breached at 4 h);
 * - L4 (bob): never answered: missed (breached at 4 h);
 * - L2 again, a day later: a re-MQL, to bob (its account's owner now), unanswered 1 h later:
 *   pending.
 */

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 8, 7, 10);
const ALL_DAY = JSON.stringify(["00:00-24:00"]);
const ROUTING = `
teams:
  sdr:
    timeZone: UTC
    hours: { mon: ${ALL_DAY}, tue: ${ALL_DAY}, wed: ${ALL_DAY}, thu: ${ALL_DAY}, fri: ${ALL_DAY}, sat: ${ALL_DAY}, sun: ${ALL_DAY} }
    sla: { businessHours: 4 }
fallback: { team: sdr }
rejectionReasons:
  no budget: recycle
  not a buyer: disqualify
`;

describe.each(DATABASE_KINDS)("the handoff's accountability on %s", (kind) => {
  let service: TestService;
  const clock = { now: T0 };
  const tokens: Record<string, string> = {};
  const handoffOf: Record<string, string> = {};
  const userIds: Record<string, string> = {};

  const at = async (ms: number) => {
    clock.now = ms;
    await service.drain();
    await service.service.scheduler.runDue(ms);
  };
  const mql = async (userId: string, t: number) => {
    await postIngest(service, "/v1/batch", {
      batch: [
        {
          type: "identify",
          userId,
          traits: { email: `${userId}@${userId}-co.example`, title: "VP Marketing", company_size: 5000 },
          timestamp: new Date(t - 3000).toISOString(),
        },
        { type: "track", userId, event: "Demo Requested", timestamp: new Date(t - 1000).toISOString() },
      ],
    });
    await at(t);
    const lead = (await service.api("GET", `/api/leads?email=${userId}@${userId}-co.example`)).body.items[0];
    expect(lead.stage).toBe("mql");
    const h = (await service.api("GET", `/api/handoffs?status=pending`)).body.handoffs.find(
      (x: { leadId: string }) => x.leadId === lead.id,
    );
    handoffOf[userId] = h.id;
    return h as { owner: { email: string } };
  };
  const act = async (userId: string, action: string, owner: string, body: Record<string, unknown> = {}) => {
    const r = await service.api("POST", `/api/handoffs/${handoffOf[userId]}/${action}`, body, tokens[owner]);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    await service.drain();
  };

  beforeAll(async () => {
    service = await startTestService(kind, { clock: () => clock.now });
    for (const [email, capacity] of [
      ["alice@corp.example", 10],
      ["bob@corp.example", 5],
    ] as const) {
      const user = await service.api("POST", "/api/users", { email, role: "sales", teams: ["sdr"] });
      expect(user.status).toBe(201);
      userIds[email] = user.body.id;
      expect(
        (await service.api("PATCH", `/api/users/${user.body.id}`, { weeklyCapacity: capacity })).status,
      ).toBe(200);
      tokens[email] = (await service.api("POST", "/api/tokens", { user: email })).body.token;
    }
    const saved = await service.api("POST", "/api/routing", { source: ROUTING });
    expect(saved.status, JSON.stringify(saved.body)).toBe(201);

    const owners = [];
    for (const u of ["l1", "l2", "l3", "l4"]) owners.push((await mql(u, T0)).owner.email);
    expect(owners).toEqual([
      "alice@corp.example",
      "bob@corp.example",
      "alice@corp.example",
      "bob@corp.example",
    ]);
    await at(T0 + HOUR);
    await act("l1", "accept", "alice@corp.example");
    await act("l1", "convert", "alice@corp.example");
    await act("l1", "opportunity", "alice@corp.example", { amount: 50_000, currency: "EUR" });
    await act("l1", "won", "alice@corp.example", { amount: 48_000, currency: "EUR" });
    await at(T0 + 2 * HOUR);
    await act("l2", "reject", "bob@corp.example", { reason: "no budget" });
    await at(T0 + 4 * HOUR + 60_000); // both SLAs still open run out: L3 and L4 breach
    await at(T0 + 5 * HOUR);
    await act("l3", "accept", "alice@corp.example");
    expect((await mql("l2", T0 + 24 * HOUR)).owner.email).toBe("bob@corp.example");
    await at(T0 + 25 * HOUR);
  });
  afterAll(async () => {
    await service?.close();
  });

  it("SLA compliance overall, per owner and per team; rejections; recycling; MQLs a week against capacity", async () => {
    const r = await service.api("GET", "/api/analytics/handoffs?from=2026-09-07&to=2026-09-14");
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.leads).toBe(4);
    expect(r.body.sla).toEqual({
      key: null,
      handoffs: 5,
      withSla: 5,
      met: 2,
      missed: 2,
      pending: 1,
      compliance: 0.5,
      breaches: 2,
    });
    expect(r.body.byOwner).toEqual([
      {
        key: "alice@corp.example",
        handoffs: 2,
        withSla: 2,
        met: 1,
        missed: 1,
        pending: 0,
        compliance: 0.5,
        breaches: 1,
      },
      {
        key: "bob@corp.example",
        handoffs: 3,
        withSla: 3,
        met: 1,
        missed: 1,
        pending: 1,
        compliance: 0.5,
        breaches: 1,
      },
    ]);
    expect(r.body.byTeam).toMatchObject([{ key: "sdr", handoffs: 5, met: 2, missed: 2 }]);
    expect(r.body.rejections).toEqual([{ reason: "no budget", count: 1, share: 1 }]);
    expect(r.body.recycling).toEqual({
      handoffs: 5,
      reMqls: 1,
      reMqlRate: 0.2,
      recycled: 1,
      recycleRate: 0.2,
    });
    expect(r.body.weekly).toEqual([{ week: "2026-09-07T00:00:00.000Z", mqls: 5, reMqls: 1, capacity: 15 }]);
    expect(r.body.capacity).toBe(15);

    // Filters narrow every figure: bob's handoffs alone.
    const bob = await service.api(
      "GET",
      `/api/analytics/handoffs?from=2026-09-07&to=2026-09-14&owner=${userIds["bob@corp.example"]}`,
    );
    expect(bob.body.sla).toMatchObject({ handoffs: 3, met: 1, missed: 1, pending: 1 });
    expect(bob.body.recycling).toMatchObject({ handoffs: 3, recycled: 1, reMqls: 1 });
  });

  it("attribution credits won revenue (the won handoff's amount) to the won lead's touches", async () => {
    const r = await service.api("GET", "/api/analytics/attribution?from=2026-09-07&to=2026-09-14");
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.totals).toMatchObject({ won: 1, revenue: 48_000 });
    // L1's only session (its identify and demo request) had no campaign or referrer: direct.
    for (const model of ["firstTouch", "lastTouch", "linear", "uShaped", "wShaped"])
      expect(r.body.rows.find((x: { key: string }) => x.key === "direct").models[model]).toMatchObject({
        won: 1,
        revenue: 48_000,
      });
  });

  it("prints readable tables from the CLI", async () => {
    const env = { QUALIFY_URL: service.url, QUALIFY_TOKEN: TEST_ADMIN_TOKEN };
    const out = await runQualify(["funnel", "handoffs", "--from", "2026-09-07", "--to", "2026-09-14"], env);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/all\s+5\s+2\s+2\s+1\s+50\.0 %\s+2/);
    expect(out.stdout).toMatch(/alice@corp\.example\s+2\s+1\s+1\s+0\s+50\.0 %\s+1/);
    expect(out.stdout).toMatch(/no budget\s+1\s+100\.0 %/);
    expect(out.stdout).toContain("re-MQLs 1 of 5 (20.0 %); recycled 1 (20.0 %)");
    expect(out.stdout).toMatch(/2026-09-07\s+5\s+1\s+15/);
  });
});
