import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postIngest } from "../support/live-checks.js";
import { qualify as runQualify } from "../support/live-cli.js";
import { expectRollupAsRebuilt } from "../support/rollup-checks.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from "../support/test-service.js";

/**
 * The funnel report on a small history whose answers are counted by hand (docs/analytics.md):
 *
 * | profile | first seen            | channel of first touch | stages reached (when)                               |
 * | A       | Mon 7 Sep 09:57 (anon) | organic-search (Google) | lead Mon 10:00, MQL Tue, SAL Wed, SQL Thu, opp Fri, customer Sat |
 * | B       | Mon 7 Sep 11:00        | paid-search (cpc)       | lead Mon 11:00                                      |
 * | C       | Mon 7 Sep 12:00        | direct                  | (a visitor only)                                    |
 * | D       | Mon 14 Sep 10:00       | paid-social (LinkedIn)  | lead and MQL Mon 14 Sep, SAL Tue 15 Sep              |
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 8, 7, 10); // Monday 7 September 2026, 10:00 UTC
const iso = (ms: number) => new Date(ms).toISOString();

describe.each(DATABASE_KINDS)("the funnel on %s", (kind) => {
  let service: TestService;
  const clock = { now: T0 };
  const ids: Record<string, string> = {};

  const send = async (batch: Record<string, unknown>[]) => {
    await postIngest(service, "/v1/batch", { batch });
    await service.drain();
  };
  const page = (
    who: { userId?: string; anonymousId?: string },
    at: number,
    url: string,
    referrer?: string,
  ) => ({
    type: "page",
    ...who,
    name: "Home",
    properties: { url, ...(referrer ? { referrer } : {}) },
    context: { page: { url, ...(referrer ? { referrer } : {}) } },
    timestamp: iso(at),
  });
  const becomeLead = (userId: string, at: number, anonymousId?: string) => [
    {
      type: "identify",
      userId,
      ...(anonymousId ? { anonymousId } : {}),
      traits: { email: `${userId}@bigco.example`, title: "VP Marketing", company_size: 5000 },
      timestamp: iso(at),
    },
    { type: "track", userId, event: "Form Submitted", timestamp: iso(at + 1000) },
  ];
  const qualify = (userId: string, at: number) => [
    { type: "track", userId, event: "Asset Downloaded", properties: { type: "ebook" }, timestamp: iso(at) },
    { type: "track", userId, event: "Demo Requested", timestamp: iso(at + 1000) },
  ];
  const leadId = async (userId: string) =>
    (await service.api("GET", `/api/leads?email=${userId}@bigco.example`)).body.items[0].id as string;
  const fact = async (userId: string, at: number, f: string) => {
    clock.now = at;
    const r = await service.api("POST", `/api/leads/${await leadId(userId)}/stage`, {
      fact: f,
      reason: "test",
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    await service.drain();
  };
  const funnel = async (query: string) => {
    const r = await service.api("GET", `/api/analytics/funnel?${query}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body;
  };
  const counts = (stages: { stage: string; count: number }[]) =>
    Object.fromEntries(stages.map((s) => [s.stage, s.count]));

  beforeAll(async () => {
    service = await startTestService(kind, { clock: () => clock.now });
    clock.now = T0 + 2 * HOUR;
    await send([
      page(
        { anonymousId: "anon-a" },
        T0 - 3 * 60_000,
        "https://acme.example/",
        "https://www.google.com/search?q=acme",
      ),
      ...becomeLead("a", T0, "anon-a"),
      page(
        { anonymousId: "anon-b" },
        T0 + HOUR,
        "https://acme.example/?utm_source=google&utm_medium=cpc&utm_campaign=brand",
      ),
      ...becomeLead("b", T0 + HOUR + 1000, "anon-b"),
      page({ anonymousId: "anon-c" }, T0 + 2 * HOUR, "https://acme.example/"),
    ]);
    clock.now = T0 + DAY;
    await send(qualify("a", T0 + DAY - 5000));
    await fact("a", T0 + 2 * DAY, "accepted");
    await fact("a", T0 + 3 * DAY, "converted");
    await fact("a", T0 + 4 * DAY, "opportunity");
    await fact("a", T0 + 5 * DAY, "won");
    clock.now = T0 + 7 * DAY + HOUR;
    await send([
      page(
        { anonymousId: "anon-d" },
        T0 + 7 * DAY,
        "https://acme.example/?utm_source=linkedin&utm_medium=paid-social&utm_campaign=q3",
      ),
      ...becomeLead("d", T0 + 7 * DAY + 1000, "anon-d"),
      ...qualify("d", T0 + 7 * DAY + 5000),
    ]);
    await fact("d", T0 + 8 * DAY, "accepted");
    clock.now = T0 + 10 * DAY;
    for (const u of ["a", "b", "d"]) ids[u] = await leadId(u);
  });
  afterAll(async () => {
    await service?.close();
  });

  it("by date range: each stage's first reach in the range, and the rates between stages", async () => {
    const r = await funnel("from=2026-09-06&to=2026-09-21");
    expect(r.leads).toBe(4);
    expect(counts(r.total)).toEqual({
      visitor: 4,
      lead: 3,
      mql: 2,
      sal: 2,
      sql: 1,
      opportunity: 1,
      customer: 1,
    });
    expect(r.total.map((s: { rate: number | null }) => s.rate)).toEqual([null, 0.75, 2 / 3, 1, 0.5, 1, 1]);
    // The second week alone: D, and nothing of A (all its stages were in the first).
    const week2 = await funnel("from=2026-09-14&to=2026-09-21");
    expect(week2.leads).toBe(1);
    expect(counts(week2.total)).toEqual({
      visitor: 1,
      lead: 1,
      mql: 1,
      sal: 1,
      sql: 0,
      opportunity: 0,
      customer: 0,
    });
  });

  it("by first-touch channel, source and campaign; filters narrow every count", async () => {
    const r = await funnel("from=2026-09-06&to=2026-09-21&by=channel");
    const by = Object.fromEntries(
      r.groups.map((g: { key: string; stages: never[] }) => [g.key, counts(g.stages)]),
    );
    expect(by).toEqual({
      direct: { visitor: 1, lead: 0, mql: 0, sal: 0, sql: 0, opportunity: 0, customer: 0 },
      "organic-search": { visitor: 1, lead: 1, mql: 1, sal: 1, sql: 1, opportunity: 1, customer: 1 },
      "paid-search": { visitor: 1, lead: 1, mql: 0, sal: 0, sql: 0, opportunity: 0, customer: 0 },
      "paid-social": { visitor: 1, lead: 1, mql: 1, sal: 1, sql: 0, opportunity: 0, customer: 0 },
    });
    const campaigns = await funnel("from=2026-09-06&to=2026-09-21&by=campaign");
    expect(campaigns.groups.map((g: { key: string | null }) => g.key)).toEqual(["brand", "q3", null]);
    const paid = await funnel("from=2026-09-06&to=2026-09-21&channel=paid-social");
    expect(paid.leads).toBe(1);
    expect(counts(paid.total)).toMatchObject({ lead: 1, mql: 1, sal: 1 });
  });

  it("by cohort: the week leads became leads, and how far each cohort has come", async () => {
    const r = await funnel("from=2026-09-06&to=2026-09-21&view=cohort&period=week");
    expect(r.leads).toBe(3);
    expect(r.groups.map((g: { key: string }) => g.key)).toEqual([
      "2026-09-07T00:00:00.000Z",
      "2026-09-14T00:00:00.000Z",
    ]);
    expect(counts(r.groups[0].stages)).toEqual({
      visitor: 3,
      lead: 2,
      mql: 1,
      sal: 1,
      sql: 1,
      opportunity: 1,
      customer: 1,
    });
    expect(counts(r.groups[1].stages)).toEqual({
      visitor: 1,
      lead: 1,
      mql: 1,
      sal: 1,
      sql: 0,
      opportunity: 0,
      customer: 0,
    });
  });

  it("keeps the rollups as a rebuild from scratch would make them, and first touches include anonymous visits", async () => {
    await funnel("from=2026-09-06&to=2026-09-21");
    const rows = await expectRollupAsRebuilt(service.service.db, "the funnel's leads");
    const a = rows.lead_funnel?.find((f) => (f as { lead_id: string }).lead_id === ids.a) as Record<
      string,
      unknown
    >;
    expect(Number(a.first_touch_at)).toBe(T0 - 3 * 60_000);
    expect(a).toMatchObject({
      first_channel: "organic-search",
      first_source: "google.com",
      mqls: 1,
      stage: "customer",
    });
  });

  it("velocity: median and p75 between milestones, and time in each stage", async () => {
    const r = await service.api("GET", "/api/analytics/velocity?from=2026-09-06&to=2026-09-21");
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const S = 1000;
    const by = Object.fromEntries(r.body.intervals.map((i: { name: string }) => [i.name, i]));
    // First touch → lead: A 3 min + 1 s (the form, a second after identify, makes the lead), B and D 2 s
    // (their landing page 1 s before identify). Sorted 2, 2, 181 s: median 2 s, p75 halfway from 2 to 181.
    expect(by["first touch → lead"]).toEqual({
      name: "first touch → lead",
      count: 3,
      medianMs: 2 * S,
      p75Ms: 91.5 * S,
    });
    // Lead → MQL: A from T0+1 s to T0+1 d−4 s (Demo Requested), D 4 s (lead at +2 s, MQL at +6 s).
    expect(by["lead → MQL"]).toMatchObject({ count: 2, medianMs: (DAY - 5 * S + 4 * S) / 2 });
    // MQL → accepted: A 1 d + 4 s, D 1 d − 6 s.
    expect(by["MQL → accepted"]).toMatchObject({ count: 2, medianMs: DAY - S });
    expect(by["MQL → SQL"]).toEqual({
      name: "MQL → SQL",
      count: 1,
      medianMs: 2 * DAY + 4 * S,
      p75Ms: 2 * DAY + 4 * S,
    });
    expect(by["MQL → won"]).toMatchObject({ count: 1, medianMs: 4 * DAY + 4 * S });
    const stages = Object.fromEntries(r.body.stages.map((s: { stage: string }) => [s.stage, s]));
    // A's SQL and opportunity stays were one day each; D is still a SAL, B still a lead.
    expect(stages.sql).toMatchObject({ count: 1, medianMs: DAY, open: 0 });
    expect(stages.opportunity).toMatchObject({ count: 1, medianMs: DAY, open: 0 });
    expect(stages.sal).toMatchObject({ count: 1, medianMs: DAY, open: 1 });
    expect(stages.lead).toMatchObject({ count: 2, open: 1 });
    expect(stages.customer).toMatchObject({ count: 0, open: 1 });
  });

  it("conversion paths before MQL and before won, most converting first", async () => {
    const r = await service.api("GET", "/api/analytics/paths?from=2026-09-06&to=2026-09-21");
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    // A and D: a form, an ebook, a demo request, then MQL; B: a form only. C never became a lead.
    expect(r.body.leads).toBe(3);
    expect(r.body.beforeMql).toEqual([
      { path: ["form", "ebook", "demo request"], leads: 2, converted: 2, rate: 1 },
      { path: ["form"], leads: 1, converted: 0, rate: 0 },
    ]);
    // The MQLs A (won) and D (not yet): the same path, one of two won.
    expect(r.body.mqls).toBe(2);
    expect(r.body.beforeWon).toEqual([
      { path: ["form", "ebook", "demo request"], leads: 2, converted: 1, rate: 0.5 },
    ]);
  });

  it("attribution: every model side by side, totals equal to the funnel's", async () => {
    const r = await service.api("GET", "/api/analytics/attribution?from=2026-09-06&to=2026-09-21");
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    // A has two sessions: Google (organic search), then a day later its ebook and demo request
    // with no referrer (direct). B and D have one each.
    expect(r.body.totals).toEqual({ lead: 3, mql: 2, sql: 1, opportunity: 1, won: 1, revenue: 0 });
    const f = await funnel("from=2026-09-06&to=2026-09-21");
    expect(r.body.totals.mql).toBe(counts(f.total).mql);
    const at = (model: string): Record<string, number[]> =>
      Object.fromEntries(
        r.body.rows.map((row: { key: string; models: Record<string, Record<string, number>> }) => {
          const c = row.models[model] as Record<string, number>;
          return [
            row.key,
            [c.lead, c.mql, c.sql, c.opportunity, c.won].map((x) => Math.round((x as number) * 1000) / 1000),
          ];
        }),
      );
    expect(at("firstTouch")).toEqual({
      direct: [0, 0, 0, 0, 0],
      "organic-search": [1, 1, 1, 1, 1],
      "paid-search": [1, 0, 0, 0, 0],
      "paid-social": [1, 1, 0, 0, 0],
    });
    expect(at("lastTouch")).toMatchObject({ "organic-search": [1, 0, 0, 0, 0], direct: [0, 1, 1, 1, 1] });
    expect(at("linear")).toMatchObject({
      "organic-search": [1, 0.5, 0.5, 0.5, 0.5],
      direct: [0, 0.5, 0.5, 0.5, 0.5],
    });
    // U-shaped stops at lead creation (A's first session): all of A's credit to organic search.
    expect(at("uShaped")).toMatchObject({ "organic-search": [1, 1, 1, 1, 1] });
    // W-shaped, once the opportunity exists (its touch is A's second session): first touch and
    // lead creation are one touch (60), the opportunity's 30: two thirds and one third.
    expect(at("wShaped")).toMatchObject({
      "organic-search": [1, 1, 1, 0.667, 0.667],
      direct: [0, 0, 0, 0.333, 0.333],
    });
    for (const model of ["firstTouch", "lastTouch", "linear", "uShaped", "wShaped"]) {
      const sum = Object.values(at(model)).reduce(
        (a, c) => a.map((x, i) => x + (c[i] as number)),
        [0, 0, 0, 0, 0],
      );
      expect(sum.map((x) => Math.round(x * 1000) / 1000)).toEqual([3, 2, 1, 1, 1]);
    }
    // Filtered (A, the only lead whose first touch was organic search): the same leads as the
    // funnel's under the same filter, and every model's credits add up to its totals.
    const filtered = await service.api(
      "GET",
      "/api/analytics/attribution?from=2026-09-06&to=2026-09-21&channel=organic-search&by=source",
    );
    expect(filtered.status, JSON.stringify(filtered.body)).toBe(200);
    expect(filtered.body.totals).toEqual({ lead: 1, mql: 1, sql: 1, opportunity: 1, won: 1, revenue: 0 });
    const ff = await funnel("from=2026-09-06&to=2026-09-21&channel=organic-search");
    expect(filtered.body.totals.mql).toBe(counts(ff.total).mql);
    expect(filtered.body.leads).toBe(1);
    expect(filtered.body.rows.map((row: { key: string }) => row.key).sort()).toEqual([
      "(no source)",
      "google.com",
    ]);
    const bad = await service.api("GET", "/api/analytics/attribution?from=2026-09-06&to=2026-09-21&by=owner");
    expect(bad.status).toBe(400);
    expect(bad.body.details).toEqual([{ path: "by", message: "expected channel, source or campaign" }]);
  });

  it("takes its channel rules from the workspace's configuration, and rebuilds under new ones", async () => {
    const channels = async () =>
      (await funnel("from=2026-09-06&to=2026-09-21&by=channel")).groups.map((g: { key: string }) => g.key);
    const bad = await service.api("PUT", "/api/analytics/config", {
      sessionGapMinutes: 0,
      channels: [{ channel: "x" }],
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error).toBe("ANALYTICS_CONFIG_INVALID");
    expect(bad.body.details.map((d: { path: string }) => d.path)).toEqual([
      "sessionGapMinutes",
      "channels.0",
    ]);
    // Refused: nothing changed.
    expect(await channels()).toEqual(["direct", "organic-search", "paid-search", "paid-social"]);
    const own = await service.api("PUT", "/api/analytics/config", {
      channels: [
        { channel: "search", referrer: ["google."] },
        { channel: "paid", medium: ["cpc", "paid-social"] },
      ],
    });
    expect(own.status, JSON.stringify(own.body)).toBe(200);
    expect(own.body.effective.sessionGapMs).toBe(30 * 60_000);
    expect(await channels()).toEqual(["direct", "paid", "search"]);
    expect((await service.api("GET", "/api/analytics/config")).body.saved.channels).toHaveLength(2);
    expect((await service.api("PUT", "/api/analytics/config", {})).status).toBe(200);
    expect(await channels()).toEqual(["direct", "organic-search", "paid-search", "paid-social"]);
  });

  it("says which field is wrong", async () => {
    const bad = await service.api("GET", "/api/analytics/funnel?from=2026-09-10&to=2026-09-01");
    expect(bad.status).toBe(400);
    expect(bad.body.details).toEqual([{ path: "to", message: "must be after from" }]);
    const missing = await service.api("GET", "/api/analytics/funnel?to=2026-09-01&by=color");
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.body)).toMatch(/from/);
    expect(JSON.stringify(missing.body)).toMatch(/by/);
  });

  it("prints a readable table from the CLI, and JSON with --json", async () => {
    const env = { QUALIFY_URL: service.url, QUALIFY_TOKEN: TEST_ADMIN_TOKEN };
    const out = await runQualify(
      ["funnel", "--from", "2026-09-06", "--to", "2026-09-21", "--by", "channel"],
      env,
    );
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain("Funnel, by date range, 2026-09-06 to 2026-09-21: 4 leads");
    expect(out.stdout).toMatch(/mql\s+2\s+66\.7 %/);
    expect(out.stdout).toMatch(/organic-search\s+1\s+1\s+1\s+1\s+1\s+1\s+1\s+100\.0 %/);
    const json = await runQualify(["funnel", "--from", "2026-09-06", "--to", "2026-09-21", "--json"], env);
    expect(JSON.parse(json.stdout).leads).toBe(4);
    const velocity = await runQualify(
      ["funnel", "velocity", "--from", "2026-09-06", "--to", "2026-09-21"],
      env,
    );
    expect(velocity.code, velocity.stderr).toBe(0);
    expect(velocity.stdout).toMatch(/MQL → SQL\s+1\s+2\.0 d\s+2\.0 d/);
    expect(velocity.stdout).toMatch(/sal\s+1\s+24\.0 h\s+24\.0 h\s+1/);
    const paths = await runQualify(["funnel", "paths", "--from", "2026-09-06", "--to", "2026-09-21"], env);
    expect(paths.code, paths.stderr).toBe(0);
    expect(paths.stdout).toMatch(/form → ebook → demo request\s+2\s+2\s+100\.0 %/);
    const attribution = await runQualify(
      ["funnel", "attribution", "--from", "2026-09-06", "--to", "2026-09-21"],
      env,
    );
    expect(attribution.code, attribution.stderr).toBe(0);
    expect(attribution.stdout).toContain("3 leads created, 2 MQLs, 1 SQLs, 1 opportunities, 1 won");
    expect(attribution.stdout).toMatch(/wShaped\n[\s\S]*organic-search\s+1\s+1\s+1\s+0\.67\s+0\.67/);
    const unknown = await runQualify(["funnel", "speed", "--from", "2026-09-06", "--to", "2026-09-21"], env);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(
      /report: 'speed' is not one of stages, velocity, handoffs, paths, attribution/,
    );
    const config = await runQualify(["analytics", "config"], env);
    expect(config.code, config.stderr).toBe(0);
    expect(JSON.parse(config.stdout).effective.sessionGapMs).toBe(30 * 60_000);
    const file = join(mkdtempSync(join(tmpdir(), "qualify-analytics-")), "analytics.yaml");
    writeFileSync(file, "sessionGapMinutes: 0\ntouchTypes:\n  - { type: pricing }\n");
    const refused = await runQualify(["analytics", "config", "--set", file], env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/sessionGapMinutes/);
    expect(refused.stderr).toMatch(/touchTypes\.0/);
    const bad = await runQualify(["funnel", "--from", "yesterday", "--to", "2026-09-21"], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/from/);
  });
});
