import { Analytics as SegmentAnalytics } from "@segment/analytics-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifySignature } from "../../src/handoff/webhooks/signature.js";
import { postIngest } from "../support/live-checks.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService, type TestService } from "../support/test-service.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";

/**
 * The handoff's whole loop over real HTTP, on a clock the test moves: SDK events make a lead an
 * MQL; routing gives it to a rep; the SLA runs out and it goes to the next rep; that rep accepts,
 * converts, opens an opportunity and wins it; the lead's stage history shows every step.
 */

const HOUR = 3_600_000;
const ALL_DAY = ["00:00-24:00"];
const ROUTING = `
teams:
  enterprise:
    timeZone: Europe/Berlin
    hours: { mon: ${JSON.stringify(ALL_DAY)}, tue: ${JSON.stringify(ALL_DAY)}, wed: ${JSON.stringify(ALL_DAY)},
             thu: ${JSON.stringify(ALL_DAY)}, fri: ${JSON.stringify(ALL_DAY)}, sat: ${JSON.stringify(ALL_DAY)},
             sun: ${JSON.stringify(ALL_DAY)} }
    sla: { businessHours: 4 }
    onBreach: reassign
  sdr:
    timeZone: America/New_York
    hours: { mon: ["09:00-17:00"], tue: ["09:00-17:00"], wed: ["09:00-17:00"], thu: ["09:00-17:00"], fri: ["09:00-17:00"] }
    sla: { businessHours: 8 }
rules:
  - id: big-companies
    when: { trait: company_size, gte: 200 }
    team: enterprise
fallback: { team: sdr }
rejectionReasons:
  no budget: recycle
  not a buyer: disqualify
`;

describe.each(DATABASE_KINDS)("the handoff loop on %s", (kind) => {
  let service: TestService;
  let receiver: WebhookReceiver;
  let secret = "";
  const clock = { now: Date.now() };
  const tokens: Record<string, string> = {};
  const userIds: Record<string, string> = {};

  beforeAll(async () => {
    service = await startTestService(kind, { clock: () => clock.now });
    for (const [email, teams] of [
      ["alice@corp.example", ["enterprise"]],
      ["bob@corp.example", ["enterprise"]],
      ["sam@corp.example", ["sdr"]],
    ] as const) {
      const user = await service.api("POST", "/api/users", { email, role: "sales", teams });
      expect(user.status).toBe(201);
      userIds[email] = user.body.id;
      tokens[email] = (await service.api("POST", "/api/tokens", { user: email })).body.token;
    }
    const saved = await service.api("POST", "/api/routing", { source: ROUTING });
    expect(saved.status, JSON.stringify(saved.body)).toBe(201);
    receiver = await WebhookReceiver.start();
    const sub = await service.api("POST", "/api/webhooks", {
      url: receiver.url(),
      events: ["lead.mql", "handoff.assigned", "handoff.breached"],
    });
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);
    secret = sub.body.secret;
  });
  afterAll(async () => {
    await service?.close();
    await receiver?.close();
  });

  it("MQL → routed → breached and reassigned → accepted, converted, won; every step in the history", async () => {
    // 1. SDK events make a lead an MQL (a demo request is a hand-raiser).
    const analytics = new SegmentAnalytics({
      writeKey: service.writeKey,
      host: service.url,
      flushAt: 10,
      maxRetries: 0,
    });
    const t = clock.now;
    analytics.identify({
      userId: "u-dana",
      traits: { email: "dana@bigco.example", title: "VP Marketing", company_size: 5000 },
      timestamp: new Date(t - 3000),
    });
    analytics.track({
      userId: "u-dana",
      event: "Asset Downloaded",
      properties: { type: "ebook" },
      timestamp: new Date(t - 2000),
    });
    analytics.track({ userId: "u-dana", event: "Demo Requested", timestamp: new Date(t - 1000) });
    await analytics.closeAndFlush({ timeout: 10_000 });
    await service.drain();
    const leads = await service.api("GET", "/api/leads?email=dana@bigco.example");
    const lead = leads.body.items[0];
    expect(lead.stage).toBe("mql");

    // 2. Routing: the rule for big companies, round robin in enterprise: alice first (by email).
    await service.service.scheduler.runDue(clock.now);
    const mine = await service.api("GET", "/api/handoffs", undefined, tokens["alice@corp.example"]);
    expect(mine.body.handoffs).toHaveLength(1);
    const handoff = mine.body.handoffs[0];
    expect(handoff).toMatchObject({
      leadId: lead.id,
      status: "pending",
      kind: "mql",
      handRaiser: true,
      team: "enterprise",
      rule: "big-companies",
      owner: { email: "alice@corp.example" },
      sla: { basis: "business", minutes: 240 },
    });
    expect(Date.parse(handoff.dueAt) - Date.parse(handoff.assignedAt)).toBe(4 * HOUR);
    expect(handoff.routing.why).toContain("company_size");
    // A signed webhook announces the assignment, and its signature verifies.
    const assigned = (r: { json: { type: string; data?: unknown } }) => r.json.type === "handoff.assigned";
    await receiver.waitFor(() => receiver.accepted.some(assigned), 10_000, "handoff.assigned delivered");
    const hook = receiver.accepted.find(assigned);
    expect(
      verifySignature(
        secret,
        hook?.body ?? "",
        hook?.headers["qualify-signature"] as string,
        Math.floor(Date.now() / 1000),
      ),
    ).toBe(true);
    expect(
      verifySignature(
        "not-the-secret",
        hook?.body ?? "",
        hook?.headers["qualify-signature"] as string,
        Math.floor(Date.now() / 1000),
      ),
    ).toBe(false);
    expect(hook?.json.id).toEqual(expect.any(String));
    expect(JSON.stringify(hook?.json)).toContain(handoff.id);
    expect(receiver.accepted.some((r) => r.json.type === "lead.mql")).toBe(true);
    // bob sees none; sam's team got nothing.
    expect(
      (await service.api("GET", "/api/handoffs", undefined, tokens["bob@corp.example"])).body.handoffs,
    ).toEqual([]);
    // Only its owner (or an admin) may act on it.
    const notYours = await service.api(
      "POST",
      `/api/handoffs/${handoff.id}/accept`,
      {},
      tokens["bob@corp.example"],
    );
    expect(notYours.status).toBe(403);

    // 3. The SLA runs out: breached, and reassigned to bob, whose clock starts afresh.
    clock.now += 4 * HOUR - 60_000;
    await service.service.scheduler.runDue(clock.now);
    expect((await service.api("GET", `/api/handoffs/${handoff.id}`)).body.breaches).toBe(0);
    clock.now += 2 * 60_000;
    await service.service.scheduler.runDue(clock.now);
    const breached = (await service.api("GET", `/api/handoffs/${handoff.id}`)).body;
    expect(breached).toMatchObject({ status: "pending", breaches: 1, owner: { email: "bob@corp.example" } });
    expect(Date.parse(breached.dueAt)).toBe(clock.now + 4 * HOUR);
    expect(breached.history.map((h: { action: string }) => h.action)).toEqual([
      "assigned",
      "breached",
      "reassigned",
    ]);
    await receiver.waitFor(
      () => receiver.accepted.some((r) => r.json.type === "handoff.breached"),
      10_000,
      "handoff.breached delivered",
    );

    // A move that does not fit the status is a 409, and nothing changes.
    const early = await service.api(
      "POST",
      `/api/handoffs/${handoff.id}/won`,
      {},
      tokens["bob@corp.example"],
    );
    expect(early.status).toBe(409);
    expect(early.body.message).toContain("pending");

    // 4. bob accepts, converts, opens an opportunity and wins it.
    const steps: [string, object, string][] = [
      ["accept", {}, "sal"],
      ["convert", {}, "sql"],
      ["opportunity", { amount: 48_000, currency: "EUR" }, "opportunity"],
      ["won", { amount: 52_000, currency: "EUR" }, "customer"],
    ];
    for (const [action, body, stage] of steps) {
      clock.now += HOUR;
      const res = await service.api(
        "POST",
        `/api/handoffs/${handoff.id}/${action}`,
        body,
        tokens["bob@corp.example"],
      );
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.engine.transitions.map((x: { to: string }) => x.to)).toEqual([stage]);
    }
    const won = (await service.api("GET", `/api/handoffs/${handoff.id}`)).body;
    expect(won).toMatchObject({ status: "won", amount: 52_000, currency: "EUR" });
    expect(won.closedAt).not.toBeNull();
    // The SLA job of a handoff acted on never fires again.
    clock.now += 24 * HOUR;
    await service.service.scheduler.runDue(clock.now);
    expect((await service.api("GET", `/api/handoffs/${handoff.id}`)).body.breaches).toBe(1);

    // 5. The lead's stage history: every step with its actor and time.
    const detail = (await service.api("GET", `/api/leads/${lead.id}`)).body;
    const history = detail.history.map((x: { to: string; actor: string; by: string | null }) => [
      x.to,
      x.actor,
      x.by,
    ]);
    expect(history.slice(-5)).toEqual([
      ["mql", "system", null],
      ["sal", "user", "bob@corp.example"],
      ["sql", "user", "bob@corp.example"],
      ["opportunity", "user", "bob@corp.example"],
      ["customer", "user", "bob@corp.example"],
    ]);
    expect(detail.owner).toBe(userIds["bob@corp.example"]);
    expect(detail.handoffs.map((h: { id: string; status: string }) => [h.id, h.status])).toEqual([
      [handoff.id, "won"],
    ]);
    // The account became a customer, owned by the rep who first got one of its leads.
    expect(detail.account).toMatchObject({ customer: true });
  });

  let seq = 0;
  /** Segment calls for a user, stamped just before the test's clock, through /v1/batch. */
  async function send(userId: string, calls: Record<string, unknown>[]) {
    const batch = calls.map((c, i) => ({
      userId,
      messageId: `${userId}-${++seq}`,
      timestamp: new Date(clock.now - 1000 * (calls.length - i)).toISOString(),
      ...c,
    }));
    await postIngest(service, "/v1/batch", { batch });
    await service.drain();
    await service.service.scheduler.runDue(clock.now);
  }
  const demo = { type: "track", event: "Demo Requested" };
  const identify = (email: string, size = 20) => ({
    type: "identify",
    traits: { email, company_size: size },
  });
  async function handoffsOf(email: string) {
    const lead = (await service.api("GET", `/api/leads?email=${email}`)).body.items[0];
    return (await service.api("GET", `/api/handoffs?leadId=${lead.id}`)).body.handoffs;
  }

  it("a rejection recycles (a re-MQL follows) or disqualifies (never again); an unknown reason is a 400", async () => {
    const sam = tokens["sam@corp.example"];
    await send("u-rex", [identify("rex@small.example"), demo]);
    const [first] = await handoffsOf("rex@small.example");
    // Small company: no rule matched, so the fallback queue (sdr) took it.
    expect(first).toMatchObject({
      team: "sdr",
      rule: "fallback",
      kind: "mql",
      owner: { email: "sam@corp.example" },
    });
    const unknown = await service.api("POST", `/api/handoffs/${first.id}/reject`, { reason: "meh" }, sam);
    expect(unknown.status).toBe(400);
    expect(unknown.body.details[0].path).toBe("reason");
    const recycled = await service.api(
      "POST",
      `/api/handoffs/${first.id}/reject`,
      { reason: "no budget" },
      sam,
    );
    expect(recycled.status).toBe(200);
    expect(recycled.body.handoff).toMatchObject({ status: "rejected", disposition: "recycle" });
    expect(recycled.body.engine.transitions.map((x: { to: string }) => x.to)).toEqual(["recycled"]);
    // A later hand-raise re-qualifies the recycled lead: a second handoff, counted as a re-MQL.
    clock.now += 3_600_000;
    await send("u-rex", [demo]);
    const again = await handoffsOf("rex@small.example");
    expect(again.map((h: { kind: string; status: string }) => [h.kind, h.status])).toEqual([
      ["re-mql", "pending"],
      ["mql", "rejected"],
    ]);
    // Re-MQLs are counted apart from first MQLs.
    const reMqls = (await service.api("GET", "/api/handoffs?kind=re-mql")).body.handoffs;
    expect(reMqls.map((h: { leadId: string }) => h.leadId)).toEqual([again[0].leadId]);

    await send("u-tom", [identify("tom@small.example"), demo]);
    const [second] = await handoffsOf("tom@small.example");
    const dq = await service.api("POST", `/api/handoffs/${second.id}/reject`, { reason: "not a buyer" }, sam);
    expect(dq.body.handoff.disposition).toBe("disqualify");
    expect(dq.body.engine.transitions.map((x: { to: string }) => x.to)).toEqual(["disqualified"]);
    // Disqualified leads never re-qualify by themselves, hand-raise or not.
    await send("u-tom", [demo, demo]);
    expect(await handoffsOf("tom@small.example")).toHaveLength(1);
    const tom = (await service.api("GET", "/api/leads?email=tom@small.example")).body.items[0];
    expect(tom.stage).toBe("disqualified");
  });

  it("a merge of two leads with open handoffs keeps the more advanced one and closes the other as merged", async () => {
    await send("u-kim-work", [identify("kim@mid.example"), demo]);
    await send("u-kim-home", [identify("kim.home@mid.example"), demo]);
    const [work] = await handoffsOf("kim@mid.example");
    const [home] = await handoffsOf("kim.home@mid.example");
    expect(work.status).toBe("pending");
    expect(home.status).toBe("pending");
    const accepted = await service.api(
      "POST",
      `/api/handoffs/${home.id}/accept`,
      {},
      tokens["sam@corp.example"],
    );
    expect(accepted.status).toBe(200);
    // An alias ties the two userIds together: the leads merge.
    await send("u-kim-work", [{ type: "alias", previousId: "u-kim-home" }]);
    const merged = (await service.api("GET", `/api/handoffs/${work.id}`)).body;
    expect(merged).toMatchObject({ status: "merged", mergedInto: home.id });
    expect(merged.history.at(-1)).toMatchObject({ action: "merged", actor: "system" });
    const kept = (await service.api("GET", `/api/handoffs/${home.id}`)).body;
    expect(kept.status).toBe("accepted");
    // Both now belong to the surviving lead.
    expect(kept.leadId).toBe(merged.leadId);
  });

  it("CRM updates move the open handoff and the lead with actor crm; a lead without a handoff gets the fact", async () => {
    await send("u-cara", [identify("cara@crm.example"), demo]);
    const [h] = await handoffsOf("cara@crm.example");
    expect(
      (await service.api("POST", `/api/handoffs/${h.id}/accept`, {}, tokens["sam@corp.example"])).status,
    ).toBe(200);
    const created = await service.api("POST", "/api/crm/updates", {
      email: "cara@crm.example",
      type: "opportunity.created",
      amount: 10_000,
      currency: "USD",
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body.handoff).toMatchObject({ status: "opportunity", amount: 10_000, currency: "USD" });
    expect(created.body.engine.transitions).toMatchObject([{ to: "opportunity", actor: "crm" }]);
    const won = await service.api("POST", "/api/crm/updates", {
      email: "cara@crm.example",
      type: "opportunity.won",
    });
    expect(won.body.handoff.status).toBe("won");
    const history = (await service.api("GET", `/api/handoffs/${h.id}`)).body.history;
    expect(history.slice(-2).map((e: { action: string; actor: string }) => [e.action, e.actor])).toEqual([
      ["opportunity", "crm"],
      ["won", "crm"],
    ]);

    await send("u-lou", [
      identify("lou@crm.example"),
      { type: "track", event: "Asset Downloaded", properties: { type: "ebook" } },
    ]);
    const lone = await service.api("POST", "/api/crm/updates", {
      email: "lou@crm.example",
      type: "opportunity.created",
    });
    expect(lone.status).toBe(200);
    expect(lone.body.handoff).toBeNull();
    expect(lone.body.engine.transitions).toMatchObject([{ to: "opportunity", actor: "crm" }]);

    const nobody = await service.api("POST", "/api/crm/updates", {
      email: "nobody@crm.example",
      type: "opportunity.won",
    });
    expect(nobody.status).toBe(404);
    const unnamed = await service.api("POST", "/api/crm/updates", { type: "opportunity.won" });
    expect(unnamed.status).toBe(400);
    expect(unnamed.body.details[0].path).toBe("leadId");
    const asSales = await service.api(
      "POST",
      "/api/crm/updates",
      { email: "lou@crm.example", type: "opportunity.won" },
      tokens["sam@corp.example"],
    );
    expect(asSales.status).toBe(403);
  });
});
