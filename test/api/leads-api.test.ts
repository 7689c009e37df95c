import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  exampleEvents,
  FIXTURE_NOW,
  GENERATED,
  generatedEvents,
  inactiveLeadEvents,
  sendBatch,
} from "../support/lead-fixtures.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService, type TestService } from "../support/test-service.js";

// biome-ignore lint/suspicious/noExplicitAny: answers are read loosely
type Json = any;

interface LeadItem {
  id: string;
  userId: string | null;
  email: string | null;
  name: string | null;
  stage: string;
  grade: string | null;
  scores: Record<string, number>;
  mqlAt: string | null;
  lastEventAt: string | null;
}

const EXAMPLE_LEADS = 8;
const TOTAL_LEADS = EXAMPLE_LEADS + GENERATED + 1;

/** Starts a service on a fixed clock and sends every fixture event over HTTP. */
async function startWithFixtures(kind: "pglite" | "postgres", clock: () => number): Promise<TestService> {
  const service = await startTestService(kind, { clock });
  const events = [...exampleEvents(), ...generatedEvents(), ...inactiveLeadEvents()];
  const sent = await sendBatch(service.url, service.writeKey, events);
  expect(sent.status).toBe(200);
  // The example repeats one messageId on purpose: it is stored once.
  expect(sent.body).toMatchObject({ accepted: events.length - 1, duplicates: 1, rejected: [] });
  await service.drain();
  return service;
}

/** Every page of a list, following nextCursor. */
async function allPages(service: TestService, query: string, token?: string) {
  const pages: LeadItem[][] = [];
  let cursor: string | null = null;
  do {
    const path: string = `/api/leads?${query}${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`;
    const res = await service.api<{ items: LeadItem[]; nextCursor: string | null }>(
      "GET",
      path,
      undefined,
      token,
    );
    expect(res.status, path).toBe(200);
    pages.push(res.body.items);
    cursor = res.body.nextCursor;
    expect(pages.length).toBeLessThan(100);
  } while (cursor !== null);
  return pages;
}

async function leadIdOf(service: TestService, userId: string): Promise<string> {
  const res = await service.api("GET", `/api/leads?userId=${encodeURIComponent(userId)}`);
  expect(res.body.items, userId).toHaveLength(1);
  return res.body.items[0].id as string;
}

const cents = (n: number) => Math.round(n * 100);

describe.each(DATABASE_KINDS)("the leads API on %s", (kind) => {
  let service: TestService;
  let ids: Record<string, string>;

  beforeAll(async () => {
    service = await startWithFixtures(kind, () => FIXTURE_NOW);
    ids = {};
    for (const u of ["u-jordan", "u-sam", "u-morgan", "u-casey", "u-alex", "u-priya", "u-taylor", "u-old"])
      ids[u] = await leadIdOf(service, u);
  });
  afterAll(async () => {
    await service?.close();
  });

  const list = async (query: string) => {
    const res = await service.api<{ items: LeadItem[]; nextCursor: string | null }>(
      "GET",
      `/api/leads?${query}`,
    );
    expect(res.status, query).toBe(200);
    return res.body.items;
  };
  const userIds = (items: LeadItem[]) => items.map((l) => l.userId).sort();

  describe("GET /api/leads", () => {
    it("lists every unmerged lead", async () => {
      const items = await list("limit=500");
      expect(items).toHaveLength(TOTAL_LEADS);
      expect(new Set(items.map((l) => l.id)).size).toBe(TOTAL_LEADS);
      // anon-jordan and anon-taylor were merged into their identified leads.
      expect(items.filter((l) => l.userId === null).map((l) => l.stage)).toEqual(["visitor"]);
    });

    it("filters by stage and by grade (comma-separated)", async () => {
      expect(userIds(await list("stage=mql"))).toEqual(["u-jordan", "u-morgan", "u-sam"]);
      expect(userIds(await list("stage=disqualified,subscriber"))).toEqual(["u-casey", "u-priya"]);
      const all = await list("limit=500");
      const ab = await list("grade=A,B&limit=500");
      expect(ab.length).toBeGreaterThan(0);
      expect(ab.every((l) => l.grade === "A" || l.grade === "B")).toBe(true);
      expect(ab).toHaveLength(all.filter((l) => l.grade === "A" || l.grade === "B").length);
      expect(await list("stage=customer")).toEqual([]);
    });

    it("finds text in the email or the name", async () => {
      expect(userIds(await list("q=northwind"))).toEqual(["u-jordan", "u-sam"]);
      // By name: "Gen Person1", "Gen Person10", "Gen Person11".
      expect(userIds(await list("q=person1"))).toEqual(["u-gen-1", "u-gen-10", "u-gen-11"]);
      expect(userIds(await list("q=Jordan"))).toEqual(["u-jordan"]);
      // LIKE wildcards are matched literally.
      expect(await list("q=%25")).toEqual([]);
      expect(await list("q=_")).toEqual([]);
    });

    it("filters on a score group with minScore and maxScore", async () => {
      const all = await list("limit=500");
      const fitA = await list("score=fit&minScore=60&limit=500");
      expect(fitA.length).toBeGreaterThan(0);
      expect(fitA.every((l) => (l.scores.fit as number) >= 60)).toBe(true);
      // Grade A is fit ≥ 60.
      expect(fitA.map((l) => l.id).sort()).toEqual(
        all
          .filter((l) => l.grade === "A")
          .map((l) => l.id)
          .sort(),
      );
      const band = await list("score=fit&minScore=20&maxScore=40&limit=500");
      expect(band.length).toBeGreaterThan(0);
      expect(band.every((l) => (l.scores.fit as number) >= 20 && (l.scores.fit as number) <= 40)).toBe(true);
      expect(band).toHaveLength(
        all.filter((l) => (l.scores.fit as number) >= 20 && (l.scores.fit as number) <= 40).length,
      );
      // Without `score`, the bounds are on engagement.
      const engaged = await list("minScore=40&limit=500");
      expect(engaged.length).toBeGreaterThan(0);
      expect(engaged.every((l) => (l.scores.engagement as number) >= 40)).toBe(true);
      expect(userIds(engaged)).toContain("u-jordan");
    });

    it("filters on the MQL time range", async () => {
      expect(userIds(await list("mqlFrom=2026-10-01T00:00:00Z"))).toEqual(["u-jordan", "u-sam"]);
      expect(userIds(await list("mqlTo=2026-10-19T00:00:00Z"))).toEqual(["u-jordan", "u-morgan"]);
      expect(userIds(await list("mqlFrom=2026-10-01&mqlTo=2026-10-19"))).toEqual(["u-jordan"]);
      // The range is [from, to): Jordan qualified at exactly 2026-10-18T11:12:00Z.
      expect(userIds(await list("mqlFrom=2026-10-18T11:12:00Z&mqlTo=2026-10-20T00:00:00Z"))).toEqual([
        "u-jordan",
      ]);
      expect(await list("mqlFrom=2026-10-01T00:00:00Z&mqlTo=2026-10-18T11:12:00Z")).toEqual([]);
    });

    it("filters by owner", async () => {
      await service.service.db.query("update leads set owner = $1 where id = any($2)", [
        "sally@corp.example",
        [ids["u-jordan"], ids["u-sam"]],
      ]);
      expect(userIds(await list("owner=sally@corp.example"))).toEqual(["u-jordan", "u-sam"]);
      expect(await list("owner=nobody@corp.example")).toEqual([]);
    });

    it("sorts by a score group, descending, and pages with cursors without gaps or repeats", async () => {
      const pages = await allPages(service, "sort=-score&score=fit&limit=4");
      expect(pages.length).toBe(Math.ceil(TOTAL_LEADS / 4));
      for (const p of pages.slice(0, -1)) expect(p).toHaveLength(4);
      const items = pages.flat();
      expect(items).toHaveLength(TOTAL_LEADS);
      expect(new Set(items.map((l) => l.id)).size).toBe(TOTAL_LEADS);
      const fits = items.map((l) => l.scores.fit as number);
      expect(fits).toEqual([...fits].sort((a, b) => b - a));
      // The same order as one page.
      expect(items.map((l) => l.id)).toEqual(
        (await list("sort=-score&score=fit&limit=500")).map((l) => l.id),
      );
    });

    it("pages ascending by lastEventAt, and by engagement, with one item per page", async () => {
      const byTime = (await allPages(service, "sort=lastEventAt&limit=3")).flat();
      expect(new Set(byTime.map((l) => l.id)).size).toBe(TOTAL_LEADS);
      const times = byTime.map((l) => Date.parse(l.lastEventAt as string));
      expect(times).toEqual([...times].sort((a, b) => a - b));

      const single = await allPages(service, "sort=score&limit=1");
      expect(single).toHaveLength(TOTAL_LEADS);
      const engagement = single.flat().map((l) => l.scores.engagement as number);
      expect(engagement).toEqual([...engagement].sort((a, b) => a - b));
      expect(new Set(single.flat().map((l) => l.id)).size).toBe(TOTAL_LEADS);
    });

    it("pages a filtered list, the filter holding on every page", async () => {
      const pages = await allPages(service, "stage=lead&sort=-firstSeenAt&limit=2");
      const items = pages.flat();
      expect(items.every((l) => l.stage === "lead")).toBe(true);
      expect(items.length).toBe((await list("stage=lead&limit=500")).length);
      expect(new Set(items.map((l) => l.id)).size).toBe(items.length);
    });

    it("looks a lead up by userId or by email (case-insensitive)", async () => {
      const byUser = await list("userId=u-jordan");
      expect(byUser).toHaveLength(1);
      expect(byUser[0]).toMatchObject({ id: ids["u-jordan"], email: "jordan.lee@northwind.io" });
      const byEmail = await list(`email=${encodeURIComponent("JORDAN.LEE@Northwind.io")}`);
      expect(byEmail.map((l) => l.id)).toEqual([ids["u-jordan"]]);
      expect(await list("userId=u-nobody")).toEqual([]);
      expect(await list("email=nobody%40example.com")).toEqual([]);
    });

    it("answers 400 JSON naming the field for a bad query", async () => {
      for (const [query, field] of [
        ["limit=0", "limit"],
        ["limit=501", "limit"],
        ["limit=ten", "limit"],
        ["sort=bogus", "sort"],
        ["mqlFrom=notadate", "mqlFrom"],
        ["mqlTo=2026-13-45", "mqlTo"],
        ["minScore=lots", "minScore"],
        ["cursor=garbage", "cursor"],
      ] as const) {
        const res = await service.api("GET", `/api/leads?${query}`);
        expect(res.status, query).toBe(400);
        expect(res.body, query).toMatchObject({ error: "INPUT_INVALID", field });
        expect(typeof res.body.message).toBe("string");
        expect(typeof res.body.reason).toBe("string");
      }
    });
  });

  describe("GET /api/leads/{id}", () => {
    it("shows identities, traits, account, stage, scores, grade and history", async () => {
      const res = await service.api("GET", `/api/leads/${ids["u-jordan"]}`);
      expect(res.status).toBe(200);
      const lead = res.body;
      expect(lead).toMatchObject({
        id: ids["u-jordan"],
        userId: "u-jordan",
        userIds: ["u-jordan"],
        anonymousIds: ["anon-jordan"],
        email: "jordan.lee@northwind.io",
        name: "Jordan",
        stage: "mql",
        grade: "A",
        mqlAt: "2026-10-18T11:12:00.000Z",
        firstMqlAt: "2026-10-18T11:12:00.000Z",
        traits: { email: "jordan.lee@northwind.io", title: "VP of Marketing" },
        account: { id: "acct-northwind", source: "group", traits: { employees: 420, industry: "software" } },
      });
      for (const key of ["id", "userId", "anonymousIds", "traits", "account", "stage", "scores"])
        expect(lead, key).toHaveProperty(key);
      expect(lead.scoresAsOf).toBe(new Date(FIXTURE_NOW).toISOString());
      expect(Object.keys(lead.scores).sort()).toEqual(["engagement", "fit"]);
      expect(lead.history.map((h: Json) => `${h.from}>${h.to}`)).toEqual([
        "visitor>subscriber",
        "subscriber>lead",
        "lead>mql",
      ]);
      const mql = lead.history.at(-1);
      expect(mql).toMatchObject({
        actor: "system",
        at: "2026-10-18T11:12:00.000Z",
        triggerAt: "2026-10-18T11:12:00.000Z",
        grade: "A",
      });
      expect(mql.rules).toContain("pricing-visits");
      expect(mql).not.toHaveProperty("wouldHaveQualifiedAt");
    });

    it("shows the account of a group call, with its traits shared by every member", async () => {
      const sam = (await service.api("GET", `/api/leads/${ids["u-sam"]}`)).body;
      expect(sam.account).toMatchObject({ id: "acct-northwind", source: "group" });
      expect(sam.scores.fit).toBe(75);
    });

    it("answers a merged-away id with the surviving lead, and 404 JSON for an unknown id", async () => {
      const res = await service.api("GET", "/api/leads/no-such-lead");
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ error: "NOT_FOUND", field: "id" });
      for (const path of ["/explain", "/events"]) {
        const sub = await service.api("GET", `/api/leads/no-such-lead${path}`);
        expect(sub.status, path).toBe(404);
        expect(sub.body.error).toBe("NOT_FOUND");
      }
    });
  });

  describe("GET /api/leads/{id}/explain", () => {
    it("lists contributions that add up, per group, to the scores", async () => {
      for (const u of ["u-jordan", "u-sam", "u-priya", "u-taylor", "u-morgan"]) {
        const res = await service.api("GET", `/api/leads/${ids[u]}/explain`);
        expect(res.status, u).toBe(200);
        const e = res.body;
        expect(e.at).toBe(new Date(FIXTURE_NOW).toISOString());
        expect(e.model).toBe("default-b2b@v1");
        for (const [group, score] of Object.entries(e.scores as Record<string, number>)) {
          const sum = (e.contributions as Json[])
            .filter((c) => c.group === group)
            .reduce((s, c) => s + cents(c.points), 0);
          expect(sum, `${u} ${group}`).toBe(cents(score));
        }
        // The explanation agrees with the stored lead.
        const detail = (await service.api("GET", `/api/leads/${ids[u]}`)).body;
        expect(e.scores, u).toEqual(detail.scores);
        expect(e.stage, u).toBe(detail.stage);
        expect(e.grade, u).toBe(detail.grade);
      }
    });

    it("describes each contribution: rule, event or traits, raw points, decay factor, points", async () => {
      const e = (await service.api("GET", `/api/leads/${ids["u-jordan"]}/explain`)).body;
      const freq = (e.contributions as Json[]).find((c) => c.rule === "pricing-visits");
      expect(freq).toMatchObject({
        group: "engagement",
        kind: "event",
        eventId: "msg-0010",
        at: "2026-10-18T11:12:00.000Z",
        raw: 25,
      });
      expect(freq.factor).toBeGreaterThan(0);
      expect(freq.factor).toBeLessThan(1);
      expect(freq.points).toBeCloseTo(25 * freq.factor, 2);
      const seniority = (e.contributions as Json[]).find((c) => c.rule === "seniority");
      expect(seniority).toMatchObject({
        group: "fit",
        kind: "trait",
        label: "executive",
        traits: { title: "VP of Marketing" },
        factor: 1,
        points: 30,
      });
      expect(e.qualification.status).toBe("qualified");
      expect(e.qualification.reason).toContain("MQL at 2026-10-18T11:12:00.000Z");
      expect(e.mqlAt).toBe("2026-10-18T11:12:00.000Z");
    });

    it("gives the qualification status and reason of leads that are not qualified", async () => {
      const reasons = async (u: string) =>
        (await service.api("GET", `/api/leads/${ids[u]}/explain`)).body.qualification;
      expect(await reasons("u-alex")).toMatchObject({ status: "blocked", reason: "blocked by student" });
      expect(await reasons("u-priya")).toMatchObject({ status: "not-a-lead" });
      expect((await reasons("u-priya")).reason).toContain("email");
      expect(await reasons("u-casey")).toMatchObject({ status: "disqualified" });
      const taylor = await reasons("u-taylor");
      expect(taylor.status).toBe("not-qualified");
      expect(taylor.reason).toMatch(/engagement/);
    });

    it("explains as of an earlier time with ?at=: earlier events only, lower scores, no MQL yet", async () => {
      const now = (await service.api("GET", `/api/leads/${ids["u-jordan"]}/explain`)).body;
      const res = await service.api(
        "GET",
        `/api/leads/${ids["u-jordan"]}/explain?at=${encodeURIComponent("2026-10-16T00:00:00Z")}`,
      );
      expect(res.status).toBe(200);
      const past = res.body;
      expect(past.at).toBe("2026-10-16T00:00:00.000Z");
      expect(past.stage).toBe("lead");
      expect(past.mqlAt).toBeNull();
      expect(past.qualification.status).toBe("not-qualified");
      expect(past.scores.engagement).toBeLessThan(now.scores.engagement);
      expect(past.scores.fit).toBe(now.scores.fit);
      const eventTimes = (past.contributions as Json[]).filter((c) => c.kind === "event").map((c) => c.at);
      expect(eventTimes.length).toBeGreaterThan(0);
      expect(eventTimes.every((t: string) => t < "2026-10-16T00:00:00.000Z")).toBe(true);
      expect((past.contributions as Json[]).some((c) => c.rule === "pricing-visits")).toBe(false);
      for (const [group, score] of Object.entries(past.scores as Record<string, number>)) {
        const sum = (past.contributions as Json[])
          .filter((c) => c.group === group)
          .reduce((s, c) => s + cents(c.points), 0);
        expect(sum).toBe(cents(score));
      }
      const bad = await service.api("GET", `/api/leads/${ids["u-jordan"]}/explain?at=yesterday`);
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ error: "INPUT_INVALID", field: "at" });
    });
  });

  describe("GET /api/leads/{id}/events", () => {
    it("pages the timeline, newest first, with the points each event earned", async () => {
      const items: Json[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q: string = cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`;
        const res = await service.api("GET", `/api/leads/${ids["u-jordan"]}/events?limit=3${q}`);
        expect(res.status).toBe(200);
        expect(res.body.items.length).toBeLessThanOrEqual(3);
        items.push(...res.body.items);
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor !== null && pages < 20);
      // Two anonymous pages, identify, ebook, group, webinar twice, three pricing pages…
      const events = items.filter((i) => i.kind === "event");
      expect(events.map((i) => i.messageId).sort()).toEqual(
        ["0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010"].map(
          (n) => `msg-${n}`,
        ),
      );
      // …and the account input of the email-domain match made at the identify.
      const accounts = items.filter((i) => i.kind === "account");
      expect(accounts).toHaveLength(1);
      expect(accounts[0]).toMatchObject({ accountId: "domain:northwind.io", at: "2026-10-02T14:10:00.000Z" });
      expect(new Set(items.map((i) => i.seq)).size).toBe(items.length);
      expect(pages).toBe(Math.ceil(items.length / 3));
      const times = items.map((i) => i.at as string);
      expect(times).toEqual([...times].sort().reverse());
      const newest = items[0];
      expect(newest).toMatchObject({ messageId: "msg-0010", kind: "event", type: "page" });
      expect(newest.rules.map((r: Json) => r.rule).sort()).toEqual(["pricing-visit", "pricing-visits"]);
      expect(newest.points).toBeGreaterThan(20);
      expect(newest.rawPoints).toBe(28);
      const home = items.find((i) => i.messageId === "msg-0001");
      expect(home).toMatchObject({ points: 0, rules: [] });
      // Event points add up to the engagement score (no cap is reached).
      const e = (await service.api("GET", `/api/leads/${ids["u-jordan"]}`)).body;
      const sum = items.reduce((s, i) => s + (i.points as number), 0);
      expect(sum).toBeCloseTo(e.scores.engagement, 1);
      const bad = await service.api("GET", `/api/leads/${ids["u-jordan"]}/events?cursor=nope`);
      expect(bad.status).toBe(400);
      expect(bad.body.field).toBe("cursor");
    });
  });

  describe("authentication and roles", () => {
    let salesToken: string;

    it("answers 401 without a token, with a write key as the token, and with an unknown token", async () => {
      const none = await fetch(`${service.url}/api/leads`);
      expect(none.status).toBe(401);
      expect(await none.json()).toMatchObject({ error: "UNAUTHORIZED", field: "Authorization" });
      const wk = await service.api("GET", "/api/leads", undefined, service.writeKey);
      expect(wk.status).toBe(401);
      expect(wk.body.error).toBe("UNAUTHORIZED");
      const basic = await fetch(`${service.url}/api/leads`, {
        headers: { authorization: `Basic ${Buffer.from(`${service.adminToken}:`).toString("base64")}` },
      });
      expect(basic.status).toBe(401);
      expect((await service.api("GET", "/api/leads", undefined, "qlf_nope_nope_nope")).status).toBe(401);
      // And ingest refuses an API token as a write key.
      const ingest = await sendBatch(service.url, service.adminToken, []);
      expect(ingest.status).toBe(401);
    });

    it("lets a sales user read only their own leads, and not publish models or manage users", async () => {
      const user = await service.api("POST", "/api/users", {
        email: "Sally@Corp.example",
        role: "sales",
        teams: ["emea"],
      });
      expect(user.status).toBe(201);
      expect(user.body).toMatchObject({ email: "sally@corp.example", role: "sales", teams: ["emea"] });
      const dup = await service.api("POST", "/api/users", { email: "sally@corp.example", role: "sales" });
      expect(dup.status).toBe(409);
      const token = await service.api("POST", "/api/tokens", { user: "sally@corp.example" });
      expect(token.status).toBe(201);
      expect(token.body.user).toMatchObject({ email: "sally@corp.example", role: "sales" });
      salesToken = token.body.token;
      expect(salesToken).toMatch(/^qlf_/);

      // Sally owns no lead yet: the list is empty whatever the filter, and another's lead is refused.
      const leads = await service.api("GET", "/api/leads", undefined, salesToken);
      expect(leads.status).toBe(200);
      expect(leads.body.items).toEqual([]);
      const other = await service.api("GET", "/api/leads?owner=", undefined, salesToken);
      expect(other.body.items).toEqual([]);
      const explain = await service.api(
        "GET",
        `/api/leads/${ids["u-jordan"]}/explain`,
        undefined,
        salesToken,
      );
      expect(explain.status).toBe(403);
      expect(explain.body).toMatchObject({ error: "FORBIDDEN", field: "id" });
      const source = readFileSync("models/default.yaml", "utf8");
      const model = await service.api("POST", "/api/models", { source }, salesToken);
      expect(model.status).toBe(403);
      expect(model.body).toMatchObject({ error: "FORBIDDEN", field: "role" });
      const users = await service.api(
        "POST",
        "/api/users",
        { email: "eve@corp.example", role: "admin" },
        salesToken,
      );
      expect(users.status).toBe(403);
      expect(
        (await service.api("POST", "/api/tokens", { user: "sally@corp.example" }, salesToken)).status,
      ).toBe(403);
      expect(
        (await service.api("DELETE", `/api/leads/${ids["u-jordan"]}`, undefined, salesToken)).status,
      ).toBe(403);
    });

    it("validates admin bodies with 400 naming the field", async () => {
      const res = await service.api("POST", "/api/users", { email: "not-an-email", role: "sales" });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: "INPUT_INVALID", field: "email" });
      const role = await service.api("POST", "/api/users", { email: "r@corp.example", role: "king" });
      expect(role.status).toBe(400);
      expect(role.body.field).toBe("role");
      const missing = await service.api("POST", "/api/tokens", { user: "nobody@corp.example" });
      expect(missing.status).toBe(404);
    });

    it("accepts events with a write key made through the API", async () => {
      const key = await service.api("POST", "/api/keys", { name: "website" });
      expect(key.status).toBe(201);
      expect(key.body.key).toMatch(/^wk_/);
      const sent = await sendBatch(service.url, key.body.key, [
        {
          type: "track",
          anonymousId: "anon-newkey",
          event: "Email Opened",
          timestamp: "2026-10-26T00:00:00Z",
        },
      ]);
      expect(sent.status).toBe(200);
      expect(sent.body.accepted).toBe(1);
      await service.drain();
      const found = await service.api("GET", "/api/leads?limit=500");
      expect(found.body.items).toHaveLength(TOTAL_LEADS + 1);
    });
  });

  describe("operations and the API description", () => {
    it("serves an OpenAPI 3.1 document generated from the zod schemas", async () => {
      const res = await fetch(`${service.url}/openapi.json`);
      expect(res.status).toBe(200);
      const doc = (await res.json()) as Json;
      expect(doc.openapi).toBe("3.1.0");
      expect(doc.info.title).toBe("Qualify API");
      for (const path of [
        "/v1/batch",
        "/v1/track",
        "/api/leads",
        "/api/leads/{id}",
        "/api/leads/{id}/explain",
        "/api/leads/{id}/events",
        "/api/models",
        "/api/models/{version}/publish",
        "/api/analytics/funnel",
        "/healthz",
      ])
        expect(doc.paths, path).toHaveProperty([path]);
      expect(doc.paths).not.toHaveProperty(["/openapi.json"]);
      expect(doc.components.securitySchemes).toMatchObject({
        writeKey: { type: "http", scheme: "basic" },
        bearer: { type: "http", scheme: "bearer" },
      });

      const params = (op: Json) => Object.fromEntries((op.parameters as Json[]).map((p) => [p.name, p]));
      const leads = params(doc.paths["/api/leads"].get);
      for (const name of [
        "stage",
        "grade",
        "owner",
        "q",
        "minScore",
        "mqlFrom",
        "userId",
        "email",
        "sort",
        "cursor",
      ])
        expect(leads[name], name).toMatchObject({ in: "query" });
      expect(leads.limit.schema).toMatchObject({ type: "integer", minimum: 1, maximum: 500, default: 50 });
      expect(leads.sort.schema.enum).toEqual(expect.arrayContaining(["score", "-score", "-lastEventAt"]));
      expect(leads.q.description).toBe("text in the email or name");
      expect(doc.paths["/api/leads"].get.security).toEqual([{ bearer: [] }]);

      const explain = params(doc.paths["/api/leads/{id}/explain"].get);
      expect(explain.id).toMatchObject({ in: "path", required: true, schema: { type: "string" } });
      expect(explain.at).toMatchObject({ in: "query" });

      const publish = doc.paths["/api/models/{version}/publish"].post;
      expect(params(publish).version).toMatchObject({ in: "path", required: true });
      const body = publish.requestBody.content["application/json"].schema;
      expect(body.required).toContain("confirm");
      expect(body.properties.confirm).toMatchObject({ type: "boolean", enum: [true] });
      expect(body.properties.activeDays).toMatchObject({ type: "integer", default: 30 });
      expect(doc.paths["/v1/batch"].post.security).toEqual([{ writeKey: [] }]);
    });

    it("serves browsable docs at /docs", async () => {
      const res = await fetch(`${service.url}/docs`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/html");
      expect((await res.text()).toLowerCase()).toContain("swagger");
    });

    it("answers /healthz and /readyz", async () => {
      const health = await fetch(`${service.url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ ok: true });
      const ready = await fetch(`${service.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ ready: true, pendingEvents: 0, pipelineErrors: 0 });
    });

    it("exposes Prometheus metrics", async () => {
      const res = await fetch(`${service.url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/plain");
      const text = await res.text();
      expect(text).toContain("# TYPE qualify_ingest_events_total counter");
      expect(text).toMatch(/qualify_ingest_events_total\{endpoint="batch"\} \d+/);
      expect(text).toContain("# TYPE qualify_pipeline_lag_seconds gauge");
      expect(text).toMatch(/^qualify_pipeline_lag_seconds \d/m);
      expect(text).toMatch(/^qualify_pipeline_pending_events 0$/m);
      expect(text).toContain("qualify_http_request_duration_seconds_bucket");
    });

    it("answers unknown routes with 404 JSON", async () => {
      const res = await fetch(`${service.url}/api/nothing-here`);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: "NOT_FOUND" });
    });
  });
});

describe.each(DATABASE_KINDS)("publishing a model on %s", (kind) => {
  let service: TestService;
  let now = FIXTURE_NOW;
  let marketer: string;
  let ids: Record<string, string>;
  const source = readFileSync("models/default.yaml", "utf8");
  // A lower MQL threshold: engagement 15 with grade B or better.
  const lowered = source.replace("- { score: engagement, gte: 50 }", "- { score: engagement, gte: 15 }");

  beforeAll(async () => {
    service = await startWithFixtures(kind, () => now);
    ids = {};
    for (const u of ["u-jordan", "u-taylor", "u-old", "u-alex", "u-gen-0"])
      ids[u] = await leadIdOf(service, u);
    await service.api("POST", "/api/users", { email: "mia@corp.example", role: "marketer" });
    marketer = (await service.api("POST", "/api/tokens", { user: "mia@corp.example" })).body.token;
  });
  afterAll(async () => {
    await service?.close();
  });

  it("changes the threshold in the copy (a guard on the fixture)", () => {
    expect(lowered).not.toBe(source);
  });

  it("rejects an invalid model with 422 and the line of every error", async () => {
    const res = await service.api(
      "POST",
      "/api/models",
      {
        source:
          "name: m\nversion: 1\nrules:\n  - id: r\n    match: X\n    points: 1\n    decay: { halfLife: 30 }\nqualification:\n  mql: { score: engagement, gtee: 5 }\n",
      },
      marketer,
    );
    expect(res.status).toBe(422);
    expect(res.body.error).toBe("MODEL_INVALID");
    expect(res.body.details).toEqual([
      expect.objectContaining({ path: "rules[0].decay.halfLife", line: 7 }),
      expect.objectContaining({ path: "qualification.mql.gtee", line: 9 }),
    ]);
    const yaml = await service.api("POST", "/api/models", { source: "name: m\nversion: [1\n" }, marketer);
    expect(yaml.status).toBe(422);
    expect(yaml.body.details[0].line).toBeGreaterThan(0);
    // Nothing was stored.
    expect((await service.api("GET", "/api/models")).body.map((m: Json) => m.version)).toEqual([1]);
  });

  it("stores a new version with a preview of the leads it would newly qualify, by week", async () => {
    const res = await service.api("POST", "/api/models", { source: lowered }, marketer);
    expect(res.status).toBe(201);
    expect(res.body.model).toMatchObject({
      version: 2,
      name: "default-b2b",
      key: "default-b2b@v2",
      active: false,
    });
    expect(res.body.model.source).toBeUndefined();
    expect(res.body.preview).toEqual({
      version: 2,
      leads: TOTAL_LEADS,
      // Taylor (active) and u-old (last seen 2 September).
      newlyQualifying: 2,
      newlyQualifyingActive: 1,
      byWeek: [
        { week: "2026-08-31", leads: 1, active: 0 },
        { week: "2026-10-19", leads: 1, active: 1 },
      ],
      noLongerQualifying: 0,
      activeDays: 30,
    });
    // The preview route agrees; a longer activeDays counts u-old as active.
    const again = await service.api("GET", "/api/models/2/preview?activeDays=90", undefined, marketer);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ newlyQualifying: 2, newlyQualifyingActive: 2, activeDays: 90 });
    const stored = await service.api("GET", "/api/models/2");
    expect(stored.body.source).toBe(lowered);
    // Storing changed nothing yet.
    expect((await service.api("GET", `/api/leads/${ids["u-taylor"]}`)).body.stage).toBe("lead");
  });

  it("refuses to publish without confirm: true, or a version that does not exist", async () => {
    const none = await service.api("POST", "/api/models/2/publish", {}, marketer);
    expect(none.status).toBe(400);
    expect(none.body).toMatchObject({ error: "INPUT_INVALID", field: "confirm" });
    const no = await service.api("POST", "/api/models/2/publish", { confirm: false }, marketer);
    expect(no.status).toBe(400);
    expect(no.body.field).toBe("confirm");
    const missing = await service.api("POST", "/api/models/9/publish", { confirm: true }, marketer);
    expect(missing.status).toBe(404);
    expect((await service.api("GET", "/api/models/history")).body.map((m: Json) => m.version)).toEqual([1]);
  });

  it("rescores on publish: active leads that now qualify become MQLs with actor model:v2", async () => {
    const res = await service.api("POST", "/api/models/2/publish", { confirm: true }, marketer);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ version: 2, rescored: TOTAL_LEADS, newlyQualified: 1, skippedInactive: 1 });

    const taylor = (await service.api("GET", `/api/leads/${ids["u-taylor"]}`)).body;
    expect(taylor).toMatchObject({
      stage: "mql",
      mqlAt: new Date(FIXTURE_NOW).toISOString(),
      modelVersion: 2,
    });
    const mql = taylor.history.filter((h: Json) => h.to === "mql");
    expect(mql).toHaveLength(1);
    expect(mql[0]).toMatchObject({
      from: "lead",
      actor: "model:v2",
      by: "mia@corp.example",
      at: new Date(FIXTURE_NOW).toISOString(),
      wouldHaveQualifiedAt: "2026-10-19T08:00:00.000Z",
      modelVersion: 2,
    });
    const explained = (await service.api("GET", `/api/leads/${ids["u-taylor"]}/explain`)).body;
    expect(explained.model).toBe("default-b2b@v2");
    expect(explained.qualification.status).toBe("qualified");

    // Already an MQL: no second MQL.
    const jordan = (await service.api("GET", `/api/leads/${ids["u-jordan"]}`)).body;
    expect(jordan.stage).toBe("mql");
    expect(jordan.history.filter((h: Json) => h.to === "mql")).toHaveLength(1);
    expect(jordan.history.some((h: Json) => h.actor === "model:v2")).toBe(false);

    // Inactive (last event on 2 September): rescored, but no MQL now.
    const old = (await service.api("GET", `/api/leads/${ids["u-old"]}`)).body;
    expect(old.stage).toBe("lead");
    expect(old.modelVersion).toBe(2);
    expect(old.history.some((h: Json) => h.to === "mql")).toBe(false);

    // Blocked and low-engagement leads stay where they were.
    expect((await service.api("GET", `/api/leads/${ids["u-alex"]}`)).body.stage).toBe("lead");
    expect((await service.api("GET", `/api/leads/${ids["u-gen-0"]}`)).body.stage).toBe("lead");
    const mqls = (await service.api("GET", "/api/leads?stage=mql")).body.items.map((l: Json) => l.userId);
    expect(mqls.sort()).toEqual(["u-jordan", "u-morgan", "u-sam", "u-taylor"]);
  });

  it("lists the publish in the model history, newest first", async () => {
    const res = await service.api("GET", "/api/models/history", undefined, marketer);
    expect(res.status).toBe(200);
    expect(res.body.map((m: Json) => m.version)).toEqual([2, 1]);
    expect(res.body[0]).toMatchObject({
      version: 2,
      active: true,
      publishedBy: "mia@corp.example",
      summary: { version: 2, rescored: TOTAL_LEADS, newlyQualified: 1, skippedInactive: 1 },
    });
    expect(res.body[0].source).toBeUndefined();
    expect(res.body[1]).toMatchObject({ version: 1, active: false, publishedBy: "system" });
    expect(res.body.every((m: Json) => typeof m.publishedAt === "string")).toBe(true);
  });

  it("lets the inactive lead qualify at its next input, under the new model", async () => {
    now = Date.parse("2026-10-28T12:00:00Z");
    const sent = await sendBatch(service.url, service.writeKey, [
      {
        messageId: "old-webinar-2",
        type: "track",
        userId: "u-old",
        event: "Webinar Attended",
        timestamp: "2026-10-28T11:00:00Z",
      },
    ]);
    expect(sent.body.accepted).toBe(1);
    await service.drain();
    const old = (await service.api("GET", `/api/leads/${ids["u-old"]}`)).body;
    expect(old.stage).toBe("mql");
    const mql = old.history.filter((h: Json) => h.to === "mql");
    expect(mql).toHaveLength(1);
    expect(mql[0]).toMatchObject({ actor: "system", at: "2026-10-28T11:00:00.000Z", modelVersion: 2 });
    expect(mql[0]).not.toHaveProperty("wouldHaveQualifiedAt");
  });
});
