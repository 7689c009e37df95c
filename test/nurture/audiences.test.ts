import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QualifyError } from "../../src/errors.js";
import { csvField } from "../../src/nurture/audience-csv.js";
import { loadAudience } from "../../src/nurture/audience-spec.js";
import { type LeadView, loadLeadViews } from "../../src/nurture/lead-view.js";
import { parseOrigin } from "../../src/nurture/publishable-keys.js";
import { rebuildAudience, syncAudiences, syncAudiencesFor } from "../../src/nurture/sync-audiences.js";
import { leadIdOf, postIngest } from "../support/live-checks.js";
import { qualify as runQualify } from "../support/live-cli.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from "../support/test-service.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";

/**
 * Saved audiences against the real service: validation with lines, membership rebuilt at save and
 * kept current by `syncAudiences`, joins and leaves as outbox messages and signed webhooks, CSV
 * export (API and CLI), publishable keys and the personalisation endpoint with its origin rules.
 * Each test tags its leads with a `cohort` trait, and its audiences read it, so tests do not mix.
 */

const WS = "default";

/** "Engaged, fit B or better, not yet MQL", for one cohort. */
const engaged = (id: string, cohort: string, o: { gte?: number; public?: boolean } = {}) => `id: ${id}
name: Engaged, fit B or better, not yet MQL
public: ${o.public ?? false}
when:
  all:
    - { trait: cohort, equals: ${cohort} }
    - { score: engagement, gte: ${o.gte ?? 15} }
    - { minGrade: B }
    - { stage: [lead, recycled] }
`;

describe("loadAudience", () => {
  it("reads an audience, public false by default", () => {
    const a = loadAudience(engaged("engaged-fit", "x"));
    expect(a).toMatchObject({
      id: "engaged-fit",
      public: false,
      name: "Engaged, fit B or better, not yet MQL",
    });
    expect(loadAudience("id: vips\npublic: true\nwhen: { trait: title, contains: vp }\n").public).toBe(true);
  });

  it("rejects a bad audience with every error, its path and its line", () => {
    const bad = `id: Bad Id
public: maybe
when:
  all:
    - { score: engagement, gte: ten }
    - { minGrade: E }
    - { property: path, prefix: /pricing }
colour: blue
`;
    try {
      loadAudience(bad, "bad.yaml");
      expect.unreachable();
    } catch (e) {
      const err = e as QualifyError;
      expect(err.code).toBe("AUDIENCE_INVALID");
      expect(err.message).toMatch(/^bad\.yaml: the audience is invalid \(6 errors\)/);
      expect(err.details.map((d) => [d.line, d.path])).toEqual([
        [1, "id"],
        [2, "public"],
        [5, "when.all[0].gte"],
        [6, "when.all[1].minGrade"],
        [7, "when.all[2].property"],
        [8, "colour"],
      ]);
    }
    expect(() => loadAudience("id: no-when\n")).toThrow(/invalid/);
  });

  it("escapes CSV fields and neutralises formulas", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField(null)).toBe("");
    expect(csvField('Lee, "Ann"')).toBe('"Lee, ""Ann"""');
    expect(csvField("a\nb")).toBe('"a\nb"');
    expect(csvField("=1+1")).toBe("'=1+1");
    expect(csvField('=HYPERLINK("x","y")')).toBe(`"'=HYPERLINK(""x"",""y"")"`);
    for (const s of ["+1", "-1", "@x", "\tx"]) expect(csvField(s)).toBe(`'${s}`);
  });

  it("accepts exact origins only", () => {
    expect(parseOrigin("https://WWW.Acme.example/")).toBe("https://www.acme.example");
    expect(parseOrigin("http://localhost:8080")).toBe("http://localhost:8080");
    expect(parseOrigin("https://acme.example:443")).toBe("https://acme.example");
    for (const bad of [
      "https://*.acme.example",
      "https://acme.example/page",
      "ftp://acme.example",
      "acme",
      "https://a.example?x=1",
    ])
      expect(() => parseOrigin(bad), bad).toThrow();
  });
});

describe.each(DATABASE_KINDS)("audiences on %s", (kind) => {
  let service: TestService;
  let receiver: WebhookReceiver;
  const clock = { now: Date.now() };
  let n = 0;

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    service = await startTestService(kind, { clock: () => clock.now });
  });
  afterAll(async () => {
    await service?.close();
    await receiver?.close();
  });

  interface Person {
    userId: string;
    anonymousId: string;
    email: string;
    leadId: string;
  }

  /** Everything stored is processed, and the jobs it made due (nurture's lead check) have run. */
  async function settle(): Promise<void> {
    await service.drain();
    await service.service.scheduler.runDue(clock.now);
  }

  async function memberIds(audienceId: string): Promise<string[]> {
    const rows = await service.service.db.query<{ lead_id: string }>(
      "select lead_id from audience_members where workspace_id = $1 and audience_id = $2 order by lead_id",
      [WS, audienceId],
    );
    return rows.map((r) => r.lead_id);
  }

  /** A person of a cohort: who they are, then what they did; processed before it returns. */
  async function person(
    cohort: string,
    o: { title?: string; name?: string; email?: string; events?: string[] } = {},
  ): Promise<Person> {
    const tag = `${cohort}-${++n}`;
    const userId = `u-${tag}`;
    const anonymousId = `anon-${tag}`;
    const email = o.email ?? `${userId}@bigco.example`;
    const at = (i: number) => new Date(clock.now - 10_000 + i * 1000).toISOString();
    await postIngest(service, "/v1/batch", {
      batch: [
        {
          type: "identify",
          messageId: randomUUID(),
          userId,
          anonymousId,
          traits: { email, name: o.name ?? `Pat ${tag}`, title: o.title ?? "VP Marketing", cohort },
          timestamp: at(0),
        },
        ...(o.events ?? ["Webinar Attended"]).map((event, i) => ({
          type: "track",
          messageId: randomUUID(),
          userId,
          anonymousId,
          event,
          timestamp: at(i + 1),
        })),
      ],
    });
    await settle();
    const leadId = await leadIdOf(service.service.db, userId);
    if (!leadId) throw new Error(`no lead for ${userId}`);
    return { userId, anonymousId, email, leadId };
  }

  async function identify(p: Person, traits: Record<string, unknown>): Promise<void> {
    await postIngest(service, "/v1/identify", {
      userId: p.userId,
      traits,
      timestamp: new Date(clock.now).toISOString(),
    });
    await settle();
  }

  async function track(p: Person, event: string): Promise<void> {
    await postIngest(service, "/v1/track", {
      userId: p.userId,
      event,
      timestamp: new Date(clock.now).toISOString(),
    });
    await settle();
  }

  /** The lead's changes as syncAudiences sees them, in a transaction of its own. */
  const sync = (...people: Person[]) =>
    service.service.db.transaction(async (tx) =>
      syncAudiences(
        tx,
        WS,
        await loadLeadViews(
          tx,
          WS,
          people.map((p) => p.leadId),
        ),
        clock.now,
      ),
    );

  // biome-ignore lint/suspicious/noExplicitAny: outbox payloads read loosely
  async function messages(audienceId: string): Promise<{ topic: string; lead_id: string; payload: any }[]> {
    return service.service.db.query(
      `select topic, lead_id, payload from outbox
       where workspace_id = $1 and topic like 'audience.%' and payload->>'audienceId' = $2 order by seq`,
      [WS, audienceId],
    );
  }

  async function save(source: string) {
    const r = await service.api("POST", "/api/audiences", { source });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body;
  }

  it("rejects a bad audience with 422, every error with its path and line", async () => {
    const source =
      "id: Bad Id\nwhen:\n  all:\n    - { minGrade: E }\n    - { property: path, exists: true }\n";
    for (const path of ["/api/audiences/check", "/api/audiences"]) {
      const r = await service.api("POST", path, { source });
      expect(r.status).toBe(422);
      expect(r.body.error).toBe("AUDIENCE_INVALID");
      expect(r.body.details).toEqual([
        { path: "id", line: 1, message: expect.stringMatching(/expected an id/) },
        { path: "when.all[0].minGrade", line: 4, message: expect.any(String) },
        { path: "when.all[1].property", line: 5, message: expect.stringMatching(/cannot be used here/) },
      ]);
    }
    expect((await service.api("GET", "/api/audiences")).body.audiences).toEqual([]);
    const openapi = (await service.api("GET", "/openapi.json")).body;
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        "/api/audiences",
        "/api/audiences/{id}/members",
        "/v1/personalize",
        "/api/publishable-keys",
      ]),
    );
    const ok = await service.api("POST", "/api/audiences/check", { source: engaged("fine", "x") });
    expect(ok).toMatchObject({ status: 200, body: { ok: true, spec: { id: "fine", public: false } } });
  });

  it("rebuilds membership from existing leads at save; new versions and delete move members", async () => {
    const a = await person("rebuild");
    await person("rebuild", { title: "Intern" }); // grade D
    await person("rebuild", { events: ["Webinar Attended", "Demo Requested"] }); // an MQL
    await person("rebuild", { events: [] }); // no engagement

    const saved = await save(engaged("rebuild-aud", "rebuild"));
    expect(saved).toMatchObject({ id: "rebuild-aud", version: 1, active: true, members: 1 });
    expect(saved.membership).toEqual({ joined: 1, left: 0 });
    const listed = (await service.api("GET", "/api/audiences")).body.audiences;
    expect(listed.find((x: { id: string }) => x.id === "rebuild-aud")).toMatchObject({
      members: 1,
      version: 1,
    });
    const members = (await service.api("GET", "/api/audiences/rebuild-aud/members")).body;
    expect(members.items.map((m: { leadId: string }) => m.leadId)).toEqual([a.leadId]);
    expect(members.items[0]).toMatchObject({ email: a.email, userId: a.userId, stage: "lead", grade: "B" });
    expect(await messages("rebuild-aud")).toEqual([
      {
        topic: "audience.joined",
        lead_id: a.leadId,
        payload: {
          audienceId: "rebuild-aud",
          audienceVersion: 1,
          leadId: a.leadId,
          userId: a.userId,
          email: a.email,
          at: new Date(clock.now).toISOString(),
        },
      },
    ]);

    // A stricter version: the member leaves; the old one again: it joins.
    expect((await save(engaged("rebuild-aud", "rebuild", { gte: 25 }))).membership).toEqual({
      joined: 0,
      left: 1,
    });
    expect((await save(engaged("rebuild-aud", "rebuild"))).membership).toEqual({ joined: 1, left: 0 });
    const shown = (await service.api("GET", "/api/audiences/rebuild-aud")).body;
    expect(shown).toMatchObject({ version: 3, members: 1, spec: { id: "rebuild-aud" } });
    expect(shown.versions.map((v: { version: number; active: boolean }) => [v.version, v.active])).toEqual([
      [3, true],
      [2, false],
      [1, false],
    ]);

    const deleted = await service.api("DELETE", "/api/audiences/rebuild-aud");
    expect(deleted).toMatchObject({ status: 200, body: { left: 1, version: 3, deleted: true } });
    expect((await messages("rebuild-aud")).map((m) => [m.topic, m.payload.audienceVersion])).toEqual([
      ["audience.joined", 1],
      ["audience.left", 2],
      ["audience.joined", 3],
      ["audience.left", 3],
    ]);
    expect((await service.api("GET", "/api/audiences/rebuild-aud")).status).toBe(404);
    expect((await service.api("GET", "/api/audiences/rebuild-aud/members")).status).toBe(404);
    expect((await service.api("DELETE", "/api/audiences/rebuild-aud")).status).toBe(404);
    const left = await service.service.db.query(
      "select 1 from audience_members where workspace_id = $1 and audience_id = $2",
      [WS, "rebuild-aud"],
    );
    expect(left).toEqual([]);
  });

  it("syncAudiences: leads whose scores and stage change join and leave, with outbox messages", async () => {
    const a = await person("sync");
    const b = await person("sync", { title: "Intern" });
    await save(engaged("sync-aud", "sync"));
    expect(await sync(a, b)).toEqual({ joined: 0, left: 0 });

    // b becomes fit (grade B), a becomes an MQL. The nurture job syncs the leads the pipeline
    // changed, when it runs; a direct call catches up whatever it has not done, and never repeats it.
    await identify(b, { title: "VP Sales" });
    await track(a, "Demo Requested");
    await sync(a, b);
    expect(await sync(a, b)).toEqual({ joined: 0, left: 0 });
    expect(await memberIds("sync-aud")).toEqual([b.leadId]);
    expect((await messages("sync-aud")).map((m) => [m.topic, m.lead_id])).toEqual([
      ["audience.joined", a.leadId],
      ["audience.joined", b.leadId],
      ["audience.left", a.leadId],
    ]);

    // What syncAudiences answers, on views changed in memory: b's engagement falls, then returns.
    const db = service.service.db;
    const [view] = await loadLeadViews(db, WS, [b.leadId]);
    const b0 = view as LeadView;
    const syncViews = (views: LeadView[]) => db.transaction((tx) => syncAudiences(tx, WS, views, clock.now));
    const cold = { ...b0, scores: { ...b0.scores, engagement: 5 } };
    expect(await syncViews([cold])).toEqual({ joined: 0, left: 1 });
    expect(await syncViews([cold])).toEqual({ joined: 0, left: 0 });
    expect(await syncViews([b0])).toEqual({ joined: 1, left: 0 });
    // A merged-away lead is in no audience; nor is a lead that no longer exists.
    expect(await syncViews([{ ...b0, mergedInto: a.leadId }])).toEqual({ joined: 0, left: 1 });
    await db.query(
      "insert into audience_members (workspace_id, audience_id, lead_id, joined_at) values ($1, $2, $3, $4)",
      [WS, "sync-aud", "no-such-lead", clock.now],
    );
    const gone = await db.transaction((tx) =>
      syncAudiencesFor(tx, WS, ["no-such-lead", b.leadId], clock.now),
    );
    expect(gone).toEqual({ joined: 1, left: 1 }); // b joins again: its stored lead is not merged
    expect((await messages("sync-aud")).slice(3).map((m) => [m.topic, m.lead_id])).toEqual([
      ["audience.left", b.leadId],
      ["audience.joined", b.leadId],
      ["audience.left", b.leadId],
      ["audience.joined", b.leadId],
      ["audience.left", "no-such-lead"],
    ]);
    expect((await messages("sync-aud")).at(-1)?.payload).toMatchObject({ userId: null, email: null });

    // Syncs and rebuilds at once (several connections on PostgreSQL): one join, one message.
    await db.query("delete from audience_members where workspace_id = $1 and audience_id = $2", [
      WS,
      "sync-aud",
    ]);
    const before = (await messages("sync-aud")).length;
    await Promise.all([
      rebuildAudience(db, WS, "sync-aud", clock.now, 1),
      sync(a, b),
      sync(b),
      rebuildAudience(db, WS, "sync-aud", clock.now),
      sync(a, b),
    ]);
    const fresh = (await messages("sync-aud")).slice(before);
    expect(fresh.map((m) => [m.topic, m.lead_id])).toEqual([["audience.joined", b.leadId]]);
    expect(await memberIds("sync-aud")).toEqual([b.leadId]);
  });

  it("delivers audience.joined and audience.left to a webhook through the dispatcher", async () => {
    const sub = await service.api("POST", "/api/webhooks", {
      url: receiver.url("/audiences"),
      events: ["audience.joined", "audience.left"],
    });
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);
    try {
      const a = await person("hook");
      // Only this audience's messages (others' may still be waiting for the fan-out).
      const got = () => receiver.to("/audiences").filter((r) => r.json?.data?.audienceId === "hook-aud");
      await save(engaged("hook-aud", "hook"));
      await service.service.webhooks.runDue(clock.now);
      await receiver.waitFor(() => got().length >= 1, 10_000, "the join");
      await service.api("DELETE", "/api/audiences/hook-aud");
      await service.service.webhooks.runDue(clock.now);
      await receiver.waitFor(() => got().length >= 2, 10_000, "the leave");
      const [joined, left] = got().map((r) => r.json);
      expect(joined).toMatchObject({
        version: 1,
        type: "audience.joined",
        lead: { id: a.leadId, email: a.email, userId: a.userId, topContributions: [] },
        data: { audienceId: "hook-aud", audienceVersion: 1, leadId: a.leadId, email: a.email },
      });
      expect(left).toMatchObject({
        type: "audience.left",
        data: { audienceId: "hook-aud", leadId: a.leadId },
      });
      expect(got()[0]?.headers["qualify-signature"]).toMatch(/^t=\d+,v1=/);
    } finally {
      await service.api("DELETE", `/api/webhooks/${sub.body.id}`);
    }
  });

  it("exports members as CSV, escaped, through the API and the CLI", async () => {
    const names = [
      '=HYPERLINK("http://evil.example","x")',
      'Lee, "Ann"',
      "Line one\nLine two",
      "@sum",
      "Plain Name",
    ];
    const people: Person[] = [];
    for (const name of names) people.push(await person("csv", { name }));
    await save("id: csv-aud\nwhen: { trait: cohort, equals: csv }\n");
    // A rebuild in pages of two finds them all again, and drops a member whose lead is gone.
    const db = service.service.db;
    await db.query("delete from audience_members where workspace_id = $1 and audience_id = $2", [
      WS,
      "csv-aud",
    ]);
    await db.query(
      "insert into audience_members (workspace_id, audience_id, lead_id, joined_at) values ($1, $2, $3, $4)",
      [WS, "csv-aud", "erased-lead", clock.now],
    );
    expect(await rebuildAudience(db, WS, "csv-aud", clock.now, 2)).toEqual({ joined: 5, left: 1 });
    expect(await rebuildAudience(db, WS, "csv-aud", clock.now, 2)).toEqual({ joined: 0, left: 0 });

    const get = (query: string, accept?: string) =>
      fetch(`${service.url}/api/audiences/csv-aud/members${query}`, {
        headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...(accept ? { accept } : {}) },
      });
    const res = await get("?format=csv");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/csv/);
    const csv = await res.text();
    const lines = csv.split("\r\n");
    expect(lines[0]).toBe("email,user_id,lead_id,name,stage,grade,joined_at");
    expect(lines.at(-1)).toBe("");
    expect(csv).toContain(`,"'=HYPERLINK(""http://evil.example"",""x"")",`);
    expect(csv).toContain(`,"Lee, ""Ann""",`);
    expect(csv).toContain(`,"Line one\nLine two",`);
    expect(csv).toContain(",'@sum,");
    const p = people[4] as Person;
    expect(lines).toContain(
      `${p.email},${p.userId},${p.leadId},Plain Name,lead,B,${new Date(clock.now).toISOString()}`,
    );
    expect(lines).toHaveLength(names.length + 2);
    expect(await (await get("", "text/csv")).text()).toBe(csv);

    // JSON pages cover every member once.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: { leadId: string }[]; nextCursor: string | null } } =
        await service.api(
          "GET",
          `/api/audiences/csv-aud/members?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
        );
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((m) => m.leadId));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(seen.sort()).toEqual(people.map((x) => x.leadId).sort());
    expect((await service.api("GET", "/api/audiences/csv-aud/members?cursor=%%%")).status).toBe(400);

    // The CLI, as a user runs it against this server: the same file.
    const env = { QUALIFY_URL: service.url, QUALIFY_TOKEN: TEST_ADMIN_TOKEN };
    const dir = mkdtempSync(join(tmpdir(), "qualify-audiences-"));
    const out = join(dir, "csv-aud.csv");
    const exported = await runQualify(["audiences", "export", "csv-aud", "--out", out], env);
    expect(exported.code, exported.stderr).toBe(0);
    expect(readFileSync(out, "utf8")).toBe(csv);
    const listed = await runQualify(["audiences", "list"], env);
    expect(listed.stdout).toMatch(/csv-aud {2}v1 {2}5 members/);
    const shown = await runQualify(["audiences", "show", "csv-aud"], env);
    expect(shown.stdout).toContain("when: { trait: cohort, equals: csv }");
    writeFileSync(join(dir, "bad.yaml"), "id: Bad Id\nwhen: { minGrade: E }\n");
    const bad = await runQualify(["audiences", "check", join(dir, "bad.yaml")], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/line 1: id: expected an id/);
    expect(bad.stderr).toMatch(/line 2: when\.minGrade:/);
    writeFileSync(join(dir, "cli.yaml"), engaged("cli-aud", "csv"));
    const saved = await runQualify(["audiences", "save", join(dir, "cli.yaml")], env);
    expect(saved.code, saved.stderr).toBe(0);
    expect(saved.stdout).toContain("saved audience cli-aud v1: 5 members (5 joined, 0 left)");
    const removed = await runQualify(["audiences", "delete", "cli-aud"], env);
    expect(removed.stdout).toContain("deleted audience cli-aud (5 members left)");
  });

  describe("personalisation", () => {
    const ORIGIN = "https://www.acme.example";
    let key: { id: string; key: string };
    let a: Person;
    let mql: Person;

    beforeAll(async () => {
      a = await person("web");
      mql = await person("web", { events: ["Webinar Attended", "Demo Requested"] });
      await save(engaged("web-engaged", "web", { public: true }));
      await save(
        "id: web-vips\nwhen: { all: [{ trait: cohort, equals: web }, { trait: title, contains: vp }] }\n",
      );
      const created = await service.api("POST", "/api/publishable-keys", {
        name: "www",
        origins: [ORIGIN, "http://localhost:8080"],
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body).toMatchObject({
        key: expect.stringMatching(/^pk_/),
        origins: [ORIGIN, "http://localhost:8080"],
      });
      key = created.body;
    });

    const errorOf = async (res: Response) => (await res.json()) as { error?: string; field?: string };
    const ask = (query: string, headers: Record<string, string> = {}, method = "GET") =>
      fetch(`${service.url}/v1/personalize${query}`, { method, headers });

    it("answers an allowed origin with the stage bucket and public audiences only, with CORS headers", async () => {
      const res = await ask(`?anonymousId=${a.anonymousId}`, { "x-qualify-key": key.key, origin: ORIGIN });
      expect(res.status).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBe(ORIGIN);
      expect(res.headers.get("vary")).toMatch(/Origin/);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ stage: "known", audiences: ["web-engaged"] });
      for (const secret of [a.email, a.userId, a.leadId, "web-vips", "Pat"])
        expect(text).not.toContain(secret);

      const viaQuery = await ask(`?anonymousId=${mql.anonymousId}&key=${key.key}`, {
        origin: "http://localhost:8080",
      });
      expect(await viaQuery.json()).toEqual({ stage: "mql", audiences: [] });
      const unknown = await ask("?anonymousId=never-seen", { "x-qualify-key": key.key, origin: ORIGIN });
      expect(await unknown.json()).toEqual({ stage: "unknown", audiences: [] });

      await postIngest(service, "/v1/page", { anonymousId: "anon-web-visitor", properties: { path: "/" } });
      await settle();
      const visitor = await ask("?anonymousId=anon-web-visitor", {
        "x-qualify-key": key.key,
        origin: ORIGIN,
      });
      expect(await visitor.json()).toEqual({ stage: "visitor", audiences: [] });

      const preflight = await ask(
        "",
        {
          origin: ORIGIN,
          "access-control-request-method": "GET",
          "access-control-request-headers": "x-qualify-key",
        },
        "OPTIONS",
      );
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get("access-control-allow-origin")).toBe(ORIGIN);
      expect(preflight.headers.get("access-control-allow-headers")).toMatch(/X-Qualify-Key/i);
    });

    it("refuses other origins, no origin, identifiers other than anonymousId, and bad or revoked keys", async () => {
      const q = `?anonymousId=${a.anonymousId}`;
      const evil = await ask(q, { "x-qualify-key": key.key, origin: "https://evil.example" });
      expect(evil.status).toBe(403);
      expect(evil.headers.get("access-control-allow-origin")).toBeNull();
      expect((await errorOf(evil)).field).toBe("Origin");
      expect((await ask(q, { "x-qualify-key": key.key })).status).toBe(403);
      const preflight = await ask(`?key=${key.key}`, { origin: "https://evil.example" }, "OPTIONS");
      expect(preflight.status).toBe(403);

      for (const field of ["userId", "email", "leadId"]) {
        const res = await ask(`${q}&${field}=${a.userId}`, { "x-qualify-key": key.key, origin: ORIGIN });
        expect(res.status).toBe(400);
        expect((await errorOf(res)).field).toBe(field);
      }
      const noId = await ask("", { "x-qualify-key": key.key, origin: ORIGIN });
      expect(noId.status).toBe(400);
      expect((await errorOf(noId)).field).toBe("anonymousId");

      expect((await ask(q, { "x-qualify-key": "pk_nope", origin: ORIGIN })).status).toBe(401);
      expect((await ask(q, { origin: ORIGIN })).status).toBe(401);
      const revoked = await service.api("DELETE", `/api/publishable-keys/${key.id}`);
      expect(revoked.body.revokedAt).toBeTruthy();
      const after = await ask(q, { "x-qualify-key": key.key, origin: ORIGIN });
      expect(after.status).toBe(401);
      expect((await errorOf(after)).error).toBe("UNAUTHORIZED");
      const list = (await service.api("GET", "/api/publishable-keys")).body.keys;
      expect(list.find((k: { id: string }) => k.id === key.id).revokedAt).toBeTruthy();
    });

    it("validates origins when a key is made, and manages keys from the CLI", async () => {
      for (const origins of [
        [],
        ["https://*.acme.example"],
        ["https://acme.example/page"],
        ["ftp://acme.example"],
      ]) {
        const r = await service.api("POST", "/api/publishable-keys", { origins });
        expect(r.status, JSON.stringify(origins)).toBe(400);
      }
      const env = { QUALIFY_URL: service.url, QUALIFY_TOKEN: TEST_ADMIN_TOKEN };
      const made = await runQualify(
        [
          "keys",
          "publishable",
          "create",
          "--name",
          "docs",
          "--origin",
          "https://docs.acme.example",
          "--origin",
          ORIGIN,
        ],
        env,
      );
      expect(made.code, made.stderr).toBe(0);
      const pk = made.stdout.trim();
      expect(pk).toMatch(/^pk_/);
      const ok = await ask(`?anonymousId=${a.anonymousId}`, {
        "x-qualify-key": pk,
        origin: "https://docs.acme.example",
      });
      expect(await ok.json()).toEqual({ stage: "known", audiences: ["web-engaged"] });
      const listed = await runQualify(["keys", "publishable", "list", "--json"], env);
      const id = (JSON.parse(listed.stdout) as { id: string; key: string }[]).find((k) => k.key === pk)
        ?.id as string;
      const revoked = await runQualify(["keys", "publishable", "revoke", id], env);
      expect(revoked.code, revoked.stderr).toBe(0);
      expect(
        (await ask(`?anonymousId=${a.anonymousId}`, { "x-qualify-key": pk, origin: ORIGIN })).status,
      ).toBe(401);
    });
  });
});
