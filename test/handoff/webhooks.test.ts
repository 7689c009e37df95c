import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { SMTPServer } from "smtp-server";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebhookDispatcher } from "../../src/handoff/webhooks/dispatcher.js";
import { verifySignature } from "../../src/handoff/webhooks/signature.js";
import { postIngest } from "../support/live-checks.js";
import { qualify as runQualify } from "../support/live-cli.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from "../support/test-service.js";
import { type Answer, type Received, WebhookReceiver } from "../support/webhook-receiver.js";

/**
 * Webhook and email notifications against real servers: an HTTP receiver that fails and recovers,
 * is slow, or answers nonsense; a real SMTP server; the CLI as a user runs it. Time moves on the
 * test's clock (`runDue`), never by sleeping, except where a real timeout is the point.
 */

const HOUR = 3_600_000;
const TIMEOUT_MS = 2_000;

type Verify = (secret: string, body: string, header: unknown, tolerance?: number, now?: number) => boolean;

/** The verification snippet of docs/webhooks.md, run as a receiver would run it. */
async function docsSnippet(): Promise<Verify> {
  const doc = readFileSync("docs/webhooks.md", "utf8");
  const at = doc.indexOf("<!-- verify-snippet");
  const code = /```js\n([\s\S]*?)```/.exec(doc.slice(at))?.[1];
  if (at < 0 || !code) throw new Error("no verification snippet in docs/webhooks.md");
  const file = join(mkdtempSync(join(tmpdir(), "qualify-snippet-")), "verify.mjs");
  writeFileSync(file, code);
  const mod = (await import(pathToFileURL(file).href)) as { verifyQualifySignature: Verify };
  return mod.verifyQualifySignature;
}

const ROUTING = `
teams:
  sdr:
    timeZone: Europe/Berlin
    hours: { mon: ["00:00-24:00"], tue: ["00:00-24:00"], wed: ["00:00-24:00"], thu: ["00:00-24:00"],
             fri: ["00:00-24:00"], sat: ["00:00-24:00"], sun: ["00:00-24:00"] }
    sla: { businessHours: 4 }
fallback: { team: sdr }
`;

interface Mail {
  to: string[];
  raw: string;
}

describe.each(DATABASE_KINDS)("webhooks on %s", (kind) => {
  let service: TestService;
  let receiver: WebhookReceiver;
  let smtp: SMTPServer;
  const mails: Mail[] = [];
  const clock = { now: Date.now() };
  let verifySnippet: Verify;
  let n = 0;

  beforeAll(async () => {
    verifySnippet = await docsSnippet();
    receiver = await WebhookReceiver.start();
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => {
          mails.push({
            to: session.envelope.rcptTo.map((r) => r.address),
            // Long header lines are folded: unfold them.
            raw: Buffer.concat(chunks)
              .toString("utf8")
              .replace(/\r?\n(?=[ \t])/g, ""),
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", () => resolve()));
    const address = smtp.server.address();
    const smtpPort = typeof address === "object" && address ? address.port : 0;
    service = await startTestService(kind, {
      clock: () => clock.now,
      env: {
        QUALIFY_WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
        SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
        QUALIFY_SMTP_FROM: "Qualify <qualify@corp.example>",
      },
    });
  });
  afterAll(async () => {
    await service?.close();
    await receiver?.close();
    await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  });
  afterEach(async () => {
    // Each test's subscriptions (and deliveries) go; so do its waiting messages.
    await settle();
    for (const s of (await service.api("GET", "/api/webhooks")).body.subscriptions)
      await service.api("DELETE", `/api/webhooks/${s.id}`);
    receiver.behave = () => ({ status: 200 });
  });

  /** Processes everything stored, then sends everything due now. */
  async function settle(): Promise<void> {
    await service.drain();
    await service.service.scheduler.runDue(clock.now);
    await service.service.webhooks.runDue(clock.now);
  }

  async function subscribe(body: Record<string, unknown>) {
    const r = await service.api("POST", "/api/webhooks", body);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as { id: string; secret: string };
  }

  const send = (batch: Record<string, unknown>[]) => postIngest(service, "/v1/batch", { batch });

  /** A VP at a big company who downloads an eBook and asks for a demo: an MQL (a hand-raiser). */
  async function qualifyLead(tag: string): Promise<{ userId: string; email: string; leadId: string }> {
    const userId = `u-${tag}-${++n}`;
    const email = `${userId}@bigco.example`;
    const t = clock.now;
    await send([
      {
        type: "identify",
        userId,
        traits: { email, name: `Dana ${n}`, title: "VP Marketing", company_size: 5000 },
        timestamp: new Date(t - 3000).toISOString(),
      },
      {
        type: "track",
        userId,
        event: "Asset Downloaded",
        properties: { type: "ebook" },
        timestamp: new Date(t - 2000).toISOString(),
      },
      { type: "track", userId, event: "Demo Requested", timestamp: new Date(t - 1000).toISOString() },
    ]);
    await service.drain();
    const lead = (await service.api("GET", `/api/leads?email=${encodeURIComponent(email)}`)).body.items[0];
    expect(lead.stage).toBe("mql");
    return { userId, email, leadId: lead.id };
  }

  async function deliveries(subId: string, query = "") {
    const r = await service.api("GET", `/api/webhooks/${subId}/deliveries?limit=500${query}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    // biome-ignore lint/suspicious/noExplicitAny: loosely read
    return r.body.deliveries as any[];
  }

  it("manages subscriptions: the secret shown once, validation, roles, rotation, removal", async () => {
    const created = await service.api("POST", "/api/webhooks", {
      url: receiver.url("/crud"),
      events: ["lead.mql", "handoff.assigned"],
      name: "CRM",
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: expect.stringMatching(/^wh_/),
      secret: expect.stringMatching(/^whsec_/),
      kind: "webhook",
      format: "json",
      active: true,
      events: ["lead.mql", "handoff.assigned"],
    });
    const id = created.body.id;
    const listed = (await service.api("GET", "/api/webhooks")).body.subscriptions;
    expect(listed).toHaveLength(1);
    expect(listed[0]).not.toHaveProperty("secret");
    expect((await service.api("GET", `/api/webhooks/${id}`)).body).toMatchObject({
      id,
      deliveries: { pending: 0, delivered: 0, dead: 0 },
    });
    expect(JSON.stringify((await service.api("GET", `/api/webhooks/${id}`)).body)).not.toContain(
      created.body.secret,
    );

    // Given secrets are kept; bad input is a 400 naming the field.
    const own = await service.api("POST", "/api/webhooks", {
      url: receiver.url("/own"),
      events: ["lead.merged"],
      secret: "my-own-secret-of-enough-length",
    });
    expect(own.body.secret).toBe("my-own-secret-of-enough-length");
    for (const [body, field] of [
      [{ url: receiver.url(), events: ["lead.exploded"] }, "events"],
      [{ url: "ftp://example.com/x", events: ["lead.mql"] }, "url"],
      [{ url: "not a url", events: ["lead.mql"] }, "url"],
      [{ events: ["lead.mql"] }, "url"],
      [{ url: receiver.url(), events: [] }, "events"],
      [{ url: receiver.url(), events: ["lead.mql"], minScoreDelta: 5 }, "minScoreDelta"],
      [{ kind: "email", url: receiver.url(), events: ["lead.mql"] }, "url"],
      [{ url: receiver.url(), events: ["lead.mql"], secret: "short" }, "secret"],
    ] as const) {
      const r = await service.api("POST", "/api/webhooks", body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(r.body)).toContain(field);
    }

    // Sales users may not manage webhooks.
    await service.api("POST", "/api/users", { email: "webhook-rep@corp.example", role: "sales" });
    const salesToken = (await service.api("POST", "/api/tokens", { user: "webhook-rep@corp.example" })).body
      .token;
    expect((await service.api("GET", "/api/webhooks", undefined, salesToken)).status).toBe(403);
    expect(
      (await service.api("POST", "/api/webhooks", { url: receiver.url(), events: ["lead.mql"] }, salesToken))
        .status,
    ).toBe(403);

    // Update: only what is given; a rotation answers the new secret once.
    const updated = await service.api("PATCH", `/api/webhooks/${id}`, {
      active: false,
      events: ["lead.mql"],
    });
    expect(updated.body).toMatchObject({
      active: false,
      disabledReason: "disabled by a user",
      events: ["lead.mql"],
      name: "CRM",
    });
    expect(updated.body).not.toHaveProperty("secret");
    const rotated = await service.api("PATCH", `/api/webhooks/${id}`, { rotateSecret: true, active: true });
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(created.body.secret);
    expect(rotated.body).toMatchObject({ active: true, disabledReason: null });

    expect((await service.api("DELETE", `/api/webhooks/${id}`)).status).toBe(204);
    expect((await service.api("GET", `/api/webhooks/${id}`)).status).toBe(404);
    expect((await service.api("DELETE", `/api/webhooks/${id}`)).status).toBe(404);
    // The OpenAPI document describes the routes.
    const doc = (await (await fetch(`${service.url}/openapi.json`)).json()) as { paths: object };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/api/webhooks", "/api/webhooks/{id}", "/api/webhooks/deliveries/{id}/retry"]),
    );
  });

  it("an MQL arrives as a signed payload v1 with the lead's scores, grade, stage and why it qualified", async () => {
    const sub = await subscribe({ url: receiver.url("/mql"), events: ["lead.mql", "lead.stage_changed"] });
    const lead = await qualifyLead("mql");
    await settle();
    const got = receiver.to("/mql");
    const mql = got.find((r) => r.json?.type === "lead.mql") as Received;
    expect(mql).toBeDefined();
    expect(got.filter((r) => r.json?.type === "lead.stage_changed").length).toBeGreaterThanOrEqual(1);
    const p = mql.json;
    expect(p).toMatchObject({
      version: 1,
      id: expect.stringMatching(/^evt_[0-9a-f]{32}$/),
      type: "lead.mql",
      workspace: "default",
      lead: {
        id: lead.leadId,
        userId: lead.userId,
        email: lead.email,
        stage: "mql",
        grade: expect.stringMatching(/^[A-D]$/),
        owner: null,
      },
      data: { leadId: lead.leadId, to: "mql", actor: "system" },
    });
    expect(Date.parse(p.time)).toBe(Date.parse(p.data.at));
    // The scores are the engine's at the MQL, as the transition recorded them, and the
    // contributions say where they came from.
    expect(p.lead.scores).toEqual(p.data.scores);
    const rules = p.lead.topContributions.map((c: { rule: string }) => c.rule);
    expect(rules).toEqual(expect.arrayContaining(["seniority", "ebook-download"]));
    const ebook = p.lead.topContributions.find((c: { rule: string }) => c.rule === "ebook-download");
    expect(ebook).toMatchObject({
      kind: "event",
      event: "Asset Downloaded",
      group: "engagement",
      points: 10,
    });
    const points = p.lead.topContributions.map((c: { points: number }) => c.points);
    expect(points).toEqual([...points].sort((a: number, b: number) => b - a));

    // Headers, and the signature: both our check and the docs' snippet verify the raw body.
    expect(mql.headers["qualify-id"]).toBe(p.id);
    expect(mql.headers["qualify-event"]).toBe("lead.mql");
    expect(mql.headers["qualify-attempt"]).toBe("1");
    expect(mql.headers["content-type"]).toBe("application/json");
    const header = mql.headers["qualify-signature"] as string;
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    const nowS = Math.floor(clock.now / 1000);
    expect(verifySignature(sub.secret, mql.body, header, nowS)).toBe(true);
    for (const r of got)
      expect(verifySnippet(sub.secret, r.body, r.headers["qualify-signature"], 300, nowS)).toBe(true);
    expect(verifySnippet("whsec_another_secret_entirely", mql.body, header, 300, nowS)).toBe(false);
    expect(verifySnippet(sub.secret, mql.body.replace('"mql"', '"sql"'), header, 300, nowS)).toBe(false);
    // A replay after the tolerance fails; so does a missing header.
    expect(verifySnippet(sub.secret, mql.body, header, 300, nowS + 301)).toBe(false);
    expect(verifySnippet(sub.secret, mql.body, undefined, 300, nowS)).toBe(false);

    // The delivery is visible as delivered, once.
    const ds = await deliveries(sub.id);
    const d = ds.find((x) => x.eventId === p.id);
    expect(d).toMatchObject({
      status: "delivered",
      attempts: 1,
      lastStatus: 200,
      type: "lead.mql",
      leadId: lead.leadId,
    });
    const shown = (await service.api("GET", `/api/webhooks/deliveries/${d.id}`)).body;
    expect(shown.body).toBe(mql.body);
  });

  it("a receiver that fails for a while then recovers gets everything, repeats detectable by id", async () => {
    let down = true;
    const failures: ((r: Received) => Answer)[] = [
      () => ({ status: 500, body: "internal error" }),
      () => ({
        status: 503,
        body: "<html><body>Service Unavailable</body></html>",
        headers: { "content-type": "text/html" },
      }),
      () => ({ reset: true }),
      () => ({ status: 302, headers: { location: "/elsewhere" } }),
      () => ({ status: 404, body: "no such hook" }),
      () => ({ status: 400, body: '{"error":"bad"}' }),
    ];
    let failed = 0;
    // After recovering, the first two it takes in are answered with a reset: taken in, not acknowledged.
    let lostAcks = 2;
    const takenIn: string[] = [];
    receiver.behave = (r) => {
      if (r.path !== "/flaky") return { status: 200 };
      if (down) return (failures[failed++ % failures.length] as (r: Received) => Answer)(r);
      takenIn.push(String(r.headers["qualify-id"]));
      if (lostAcks > 0) {
        lostAcks--;
        return { reset: true };
      }
      return { status: 200 };
    };
    const sub = await subscribe({ url: receiver.url("/flaky"), events: ["lead.mql"] });
    const leads = [];
    for (let i = 0; i < 6; i++) leads.push(await qualifyLead("flaky"));
    await settle();
    let ds = await deliveries(sub.id);
    expect(ds).toHaveLength(6);
    for (const d of ds) {
      expect(d).toMatchObject({ status: "pending", attempts: 1, inFlight: false });
      expect(d.lastError).toBeTruthy();
      expect(Date.parse(d.nextAttemptAt)).toBeGreaterThan(clock.now);
      expect(Date.parse(d.retryUntil)).toBe(Date.parse(d.createdAt) + 24 * HOUR);
    }
    expect(new Set(ds.map((d) => d.lastStatus))).toEqual(new Set([500, 503, null, 302, 404, 400]));
    expect(receiver.to("/elsewhere")).toHaveLength(0);

    // Down for two hours of retries (backoff: 5 s, 10 s, 20 s … with jitter), then back.
    for (let step = 0; step < 12; step++) {
      clock.now += 10 * 60_000;
      await service.service.webhooks.runDue(clock.now);
    }
    ds = await deliveries(sub.id);
    for (const d of ds) expect(d.status).toBe("pending");
    const attemptsWhileDown = ds.map((d) => d.attempts);
    expect(Math.min(...attemptsWhileDown)).toBeGreaterThanOrEqual(6);
    down = false;
    clock.now += HOUR;
    await service.service.webhooks.runDue(clock.now);
    clock.now += HOUR;
    await service.service.webhooks.runDue(clock.now);
    ds = await deliveries(sub.id);
    for (const d of ds) expect(d).toMatchObject({ status: "delivered", lastStatus: 200 });

    // Every MQL arrived; the ones whose answer was lost arrived twice, with the same id and bytes.
    const got = receiver.to("/flaky");
    const ids = new Set(ds.map((d) => d.eventId));
    expect(receiver.acceptedIds("/flaky")).toEqual(ids);
    const byId = new Map<string, Received[]>();
    for (const r of got)
      byId.set(String(r.headers["qualify-id"]), [...(byId.get(String(r.headers["qualify-id"])) ?? []), r]);
    expect(new Set(byId.keys())).toEqual(ids);
    for (const [id, rs] of byId) {
      expect(new Set(rs.map((r) => r.body)).size, id).toBe(1);
      expect(rs.map((r) => Number(r.headers["qualify-attempt"]))).toEqual(rs.map((_, i) => i + 1));
      expect(rs[0]?.json.id).toBe(id);
    }
    // Two were taken in twice after the recovery: their first answer was lost.
    expect(takenIn).toHaveLength(ids.size + 2);
    expect(new Set(takenIn)).toEqual(ids);
    expect(new Set(leads.map((l) => l.leadId))).toEqual(new Set(ds.map((d) => d.leadId)));
  });

  it("a slow receiver times out without holding back another subscription", async () => {
    receiver.behave = (r) =>
      r.path === "/slow" ? { status: 200, delayMs: 4 * TIMEOUT_MS } : { status: 200 };
    const slow = await subscribe({ url: receiver.url("/slow"), events: ["lead.mql"] });
    const fast = await subscribe({ url: receiver.url("/fast"), events: ["lead.mql"] });
    for (let i = 0; i < 3; i++) await qualifyLead("slow");
    const started = Date.now();
    await settle();
    const fastArrivals = receiver.to("/fast").map((r) => r.at - started);
    expect(fastArrivals).toHaveLength(3);
    // All of the fast receiver's arrived while the slow one's requests were still waiting.
    for (const ms of fastArrivals) expect(ms).toBeLessThan(TIMEOUT_MS - 500);
    expect(receiver.to("/slow")).toHaveLength(3);
    for (const d of await deliveries(fast.id)) expect(d.status).toBe("delivered");
    for (const d of await deliveries(slow.id)) {
      expect(d).toMatchObject({ status: "pending", lastError: "timed out", lastStatus: null, attempts: 1 });
      expect(d.lastDurationMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(d.lastDurationMs).toBeLessThan(4 * TIMEOUT_MS);
    }
  });

  it("nonsense answers: any 2xx is delivered; redirects, errors, HTML and resets are retried; 410 switches off", async () => {
    receiver.behave = (r): Answer => {
      switch (r.path) {
        case "/garbage":
          return {
            status: 200,
            body: "\u0000\u00ff not json {{{",
            headers: { "content-type": "application/x-nonsense" },
          };
        case "/no-content":
          return { status: 204, body: "" };
        case "/html":
          return {
            status: 500,
            body: "<html><h1>Oops</h1></html>",
            headers: { "content-type": "text/html" },
          };
        case "/redirect":
          return { status: 301, headers: { location: receiver.url("/garbage") } };
        case "/teapot":
          return { status: 418, body: "I'm a teapot" };
        case "/reset":
          return { reset: true };
        case "/gone":
          return { status: 410, body: "this hook was deleted" };
        case "/busy":
          return { status: 429, body: "slow down", headers: { "retry-after": "1800" } };
        default:
          return { status: 200 };
      }
    };
    const paths = ["/garbage", "/no-content", "/html", "/redirect", "/teapot", "/reset", "/gone", "/busy"];
    const subs = new Map<string, string>();
    for (const p of paths) subs.set(p, (await subscribe({ url: receiver.url(p), events: ["lead.mql"] })).id);
    await qualifyLead("nonsense");
    await settle();
    const one = async (p: string) => (await deliveries(subs.get(p) as string))[0];
    expect(await one("/garbage")).toMatchObject({ status: "delivered", lastStatus: 200 });
    expect(await one("/no-content")).toMatchObject({ status: "delivered", lastStatus: 204 });
    expect(await one("/html")).toMatchObject({
      status: "pending",
      lastStatus: 500,
      lastError: expect.stringContaining("Oops"),
    });
    expect(await one("/redirect")).toMatchObject({ status: "pending", lastStatus: 301 });
    expect(receiver.to("/garbage")).toHaveLength(1); // the redirect was not followed
    expect(await one("/teapot")).toMatchObject({ status: "pending", lastStatus: 418 });
    const reset = await one("/reset");
    expect(reset).toMatchObject({ status: "pending", lastStatus: null });
    expect(reset.lastError).toBeTruthy();
    expect(await one("/gone")).toMatchObject({
      status: "dead",
      lastStatus: 410,
      lastError: expect.stringContaining("disabled"),
    });
    // 429 with Retry-After: waits at least that long.
    const busy = await one("/busy");
    expect(busy).toMatchObject({ status: "pending", lastStatus: 429 });
    expect(Date.parse(busy.nextAttemptAt) - Date.parse(busy.lastAttemptAt)).toBeGreaterThanOrEqual(
      1800 * 1000,
    );
    const gone = (await service.api("GET", `/api/webhooks/${subs.get("/gone")}`)).body;
    expect(gone).toMatchObject({ active: false, disabledReason: "the receiver answered 410 Gone" });
    // A switched-off subscription gets nothing new.
    await qualifyLead("nonsense");
    await settle();
    expect(receiver.to("/gone")).toHaveLength(1);
    expect(await deliveries(subs.get("/gone") as string)).toHaveLength(1);
  });

  it("dead-letters after 24 hours of failures; a dead delivery is retried through the API and the CLI", async () => {
    let up = false;
    receiver.behave = (r) =>
      r.path === "/dead" && !up ? { status: 500, body: "still down" } : { status: 200 };
    const sub = await subscribe({ url: receiver.url("/dead"), events: ["lead.mql"] });
    await qualifyLead("dead");
    await qualifyLead("dead");
    await settle();
    const start = clock.now;
    // Hourly for 23 hours: still retried.
    for (let h = 1; h <= 23; h++) {
      clock.now = start + h * HOUR;
      await service.service.webhooks.runDue(clock.now);
    }
    for (const d of await deliveries(sub.id)) expect(d.status).toBe("pending");
    clock.now = start + 24 * HOUR + 60_000;
    await service.service.webhooks.runDue(clock.now);
    const dead = await deliveries(sub.id, "&status=dead");
    expect(dead).toHaveLength(2);
    for (const d of dead) {
      expect(d).toMatchObject({ status: "dead", lastStatus: 500, nextAttemptAt: null, retryUntil: null });
      expect(Date.parse(d.lastAttemptAt) - Date.parse(d.createdAt)).toBeGreaterThanOrEqual(24 * HOUR);
      expect(d.attempts).toBeGreaterThanOrEqual(14);
    }
    const tried = receiver.to("/dead").length;
    clock.now += 10 * HOUR;
    await service.service.webhooks.runDue(clock.now);
    expect(receiver.to("/dead")).toHaveLength(tried);

    up = true;
    const [first, second] = dead;
    const retried = await service.api("POST", `/api/webhooks/deliveries/${first.id}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({
      status: "pending",
      nextAttemptAt: new Date(clock.now).toISOString(),
    });
    await service.service.webhooks.runDue(clock.now);
    expect((await service.api("GET", `/api/webhooks/deliveries/${first.id}`)).body).toMatchObject({
      status: "delivered",
      lastStatus: 200,
    });
    expect((await service.api("POST", `/api/webhooks/deliveries/${first.id}/retry`)).status).toBe(409);
    expect((await service.api("POST", "/api/webhooks/deliveries/999999999/retry")).status).toBe(404);

    // The CLI, as a user runs it against this server.
    const env = { QUALIFY_URL: service.url, QUALIFY_TOKEN: TEST_ADMIN_TOKEN };
    const listed = await runQualify(["webhooks", "deliveries", sub.id, "--status", "dead"], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(String(second.id));
    expect(listed.stdout).toContain("dead");
    const cliRetry = await runQualify(["webhooks", "retry", String(second.id)], env);
    expect(cliRetry.code, cliRetry.stderr).toBe(0);
    expect(cliRetry.stdout).toContain("pending");
    await service.service.webhooks.runDue(clock.now);
    for (const d of await deliveries(sub.id)) expect(d.status).toBe("delivered");
    expect(receiver.acceptedIds("/dead")).toEqual(new Set(dead.map((d) => d.eventId)));
  });

  it("the CLI adds, lists, updates, tests and removes subscriptions", async () => {
    const env = { QUALIFY_URL: service.url, QUALIFY_TOKEN: TEST_ADMIN_TOKEN };
    const added = await runQualify(
      [
        "webhooks",
        "add",
        "--url",
        receiver.url("/cli"),
        "--event",
        "lead.mql,handoff.assigned",
        "--format",
        "slack",
        "--name",
        "sales channel",
      ],
      env,
    );
    expect(added.code, added.stderr).toBe(0);
    const id = /added (wh_\S+)/.exec(added.stdout)?.[1] as string;
    const secret = /signing secret: (whsec_\S+)/.exec(added.stdout)?.[1] as string;
    expect(id).toBeTruthy();
    expect(secret).toBeTruthy();
    expect(added.stderr).toContain("shown once");
    const list = await runQualify(["webhooks", "list"], env);
    expect(list.stdout).toContain(id);
    expect(list.stdout).toContain("lead.mql, handoff.assigned");
    expect(list.stdout).not.toContain(secret);
    const bad = await runQualify(["webhooks", "add", "--url", receiver.url(), "--event", "lead.nope"], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("lead.nope");
    const disabled = await runQualify(["webhooks", "disable", id], env);
    expect(disabled.stdout).toContain("inactive");
    const updated = await runQualify(["webhooks", "update", id, "--enable", "--rotate-secret"], env);
    expect(updated.code, updated.stderr).toBe(0);
    const rotated = /signing secret: (whsec_\S+)/.exec(updated.stdout)?.[1];
    expect(rotated).toBeTruthy();
    expect(rotated).not.toBe(secret);
    const tested = await runQualify(["webhooks", "test", id], env);
    expect(tested.code, tested.stderr).toBe(0);
    await service.service.webhooks.runDue(clock.now);
    const ping = receiver.to("/cli")[0] as Received;
    expect(ping.headers["qualify-event"]).toBe("webhook.test");
    expect(ping.json.text).toBe("Test notification from Qualify");
    expect(ping.body).toContain("webhook.test");
    expect(
      verifySignature(
        rotated as string,
        ping.body,
        ping.headers["qualify-signature"] as string,
        Math.floor(clock.now / 1000),
      ),
    ).toBe(true);
    const removed = await runQualify(["webhooks", "remove", id], env);
    expect(removed.code, removed.stderr).toBe(0);
    expect((await service.api("GET", "/api/webhooks")).body.subscriptions).toHaveLength(0);
  });

  it("lead.score_changed: only changes of at least the subscription's minimum delta", async () => {
    const big = await subscribe({
      url: receiver.url("/score-big"),
      events: ["lead.score_changed"],
      minScoreDelta: 15,
      scoreGroup: "engagement",
    });
    const any = await subscribe({ url: receiver.url("/score-any"), events: ["lead.score_changed"] });
    const userId = `u-score-${++n}`;
    const at = (ms: number) => new Date(clock.now - ms).toISOString();
    // An identify (fit moves), then an eBook (+10 engagement), then a webinar (+20).
    await send([
      {
        type: "identify",
        userId,
        traits: { email: `${userId}@corp.example`, title: "Manager" },
        timestamp: at(5000),
      },
    ]);
    await settle();
    await send([
      {
        type: "track",
        userId,
        event: "Asset Downloaded",
        properties: { type: "ebook" },
        timestamp: at(4000),
      },
    ]);
    await settle();
    await send([{ type: "track", userId, event: "Webinar Attended", timestamp: at(3000) }]);
    await settle();
    const anyGot = receiver.to("/score-any").map((r) => r.json);
    expect(anyGot.map((p) => p.data.delta.engagement ?? 0)).toEqual([0, 10, 20]);
    expect(anyGot[0].data.delta.fit).toBeGreaterThan(0);
    const bigGot = receiver.to("/score-big").map((r) => r.json);
    expect(bigGot).toHaveLength(1);
    expect(bigGot[0]).toMatchObject({
      type: "lead.score_changed",
      data: { previous: { engagement: 10 }, scores: { engagement: 30 }, delta: { engagement: 20 } },
      lead: { scores: { engagement: 30 } },
    });
    expect((await deliveries(big.id)).length).toBe(1);
    expect((await deliveries(any.id)).length).toBe(3);

    // Without a subscription to it, nothing is written at all.
    await service.api("DELETE", `/api/webhooks/${big.id}`);
    await service.api("DELETE", `/api/webhooks/${any.id}`);
    await send([{ type: "track", userId, event: "Webinar Attended", timestamp: at(2000) }]);
    await service.drain();
    const rows = await service.service.db.query(
      "select 1 from outbox where topic = 'lead.score_changed' and delivered_at is null",
    );
    expect(rows).toHaveLength(0);
  });

  it("Slack format: a {text, blocks} message, signed like the rest", async () => {
    const sub = await subscribe({ url: receiver.url("/slack"), events: ["lead.mql"], format: "slack" });
    // No routing yet, so the lead has no owner: an email to the owner has nobody to go to.
    const mail = await subscribe({ kind: "email", events: ["lead.mql"] });
    mails.length = 0;
    const lead = await qualifyLead("slack");
    await settle();
    expect(await deliveries(mail.id)).toHaveLength(0);
    expect(mails).toHaveLength(0);
    const [got] = receiver.to("/slack") as [Received];
    expect(Object.keys(got.json).sort()).toEqual(["blocks", "text"]);
    expect(got.json.text).toBe(`New MQL: Dana ${n} (${lead.email})`);
    expect(got.json.blocks[0]).toEqual({
      type: "section",
      text: { type: "mrkdwn", text: `*New MQL: Dana ${n} (${lead.email})*` },
    });
    const fields = got.json.blocks[1].fields.map((f: { text: string }) => f.text);
    expect(fields).toEqual(expect.arrayContaining(["*Stage*\nmql", "*Owner*\nunassigned"]));
    expect(got.json.blocks[2].elements[0].text).toContain("Why: ");
    expect(got.json.blocks[2].elements[0].text).toContain("Asset Downloaded +10");
    expect(got.headers["qualify-id"]).toMatch(/^evt_/);
    expect(verifySnippet(sub.secret, got.body, got.headers["qualify-signature"], 300, clock.now / 1000)).toBe(
      true,
    );
  });

  it("email to the lead's owner over SMTP when an MQL is assigned; fixed recipients too", async () => {
    const rep = await service.api("POST", "/api/users", {
      email: "alice@corp.example",
      role: "sales",
      teams: ["sdr"],
      name: "Alice",
    });
    expect(rep.status).toBe(201);
    const saved = await service.api("POST", "/api/routing", { source: ROUTING });
    expect(saved.status, JSON.stringify(saved.body)).toBe(201);
    await subscribe({ kind: "email", events: ["handoff.assigned"] });
    await subscribe({ kind: "email", events: ["lead.mql"], emailTo: ["ops@corp.example"] });
    const json = await subscribe({ url: receiver.url("/assigned"), events: ["handoff.assigned"] });
    mails.length = 0;
    const lead = await qualifyLead("email");
    await settle();
    expect(mails.map((m) => m.to.join(",")).sort()).toEqual(["alice@corp.example", "ops@corp.example"]);
    const toAlice = mails.find((m) => m.to.includes("alice@corp.example")) as Mail;
    expect(toAlice.raw).toContain(
      `Subject: [Qualify] MQL Dana ${n} (${lead.email}) assigned to alice@corp.example`,
    );
    expect(toAlice.raw).toContain("From: Qualify <qualify@corp.example>");
    expect(toAlice.raw).toMatch(/Message-ID: <evt_[0-9a-f]{32}\.wh_/);
    expect(toAlice.raw).toContain("Asset Downloaded");
    const toOps = mails.find((m) => m.to.includes("ops@corp.example")) as Mail;
    expect(toOps.raw).toContain("Subject: [Qualify] New MQL");
    const assigned = receiver.to("/assigned")[0] as Received;
    expect(assigned.json).toMatchObject({
      type: "handoff.assigned",
      lead: { id: lead.leadId, owner: { email: "alice@corp.example", name: "Alice" } },
      data: { handoff: { owner: { email: "alice@corp.example" }, team: "sdr", status: "pending" } },
    });
    expect(
      verifySignature(
        json.secret,
        assigned.body,
        assigned.headers["qualify-signature"] as string,
        Math.floor(clock.now / 1000),
      ),
    ).toBe(true);
    // The same event id in the email's Message-ID and the webhook's payload? They are different types:
    // the handoff.assigned email and webhook share theirs.
    expect(toAlice.raw).toContain(`<${assigned.json.id}.`);
  });

  it("a sender that stops gives back what it has in flight, due again at once", async () => {
    receiver.behave = (r) => (r.path === "/stopped" ? { status: 200, delayMs: 30_000 } : { status: 200 });
    const sub = await subscribe({ url: receiver.url("/stopped"), events: ["lead.mql"] });
    const stopping = new WebhookDispatcher(service.service.db, {
      clock: () => clock.now,
      pollMs: 60_000,
      timeoutMs: 60_000,
      retryWindowMs: 24 * HOUR,
      perSubscription: 4,
    });
    // The service's own sender is busy elsewhere: this one takes the deliveries.
    await service.service.webhooks.stop();
    try {
      for (let i = 0; i < 2; i++) await qualifyLead("stopped");
      const running = stopping.runDue(clock.now);
      await receiver.waitFor(() => receiver.to("/stopped").length === 2, 10_000, "2 requests held");
      await stopping.stop();
      await running;
      for (const d of await deliveries(sub.id))
        expect(d).toMatchObject({
          status: "pending",
          attempts: 0,
          inFlight: false,
          nextAttemptAt: new Date(clock.now).toISOString(),
        });
    } finally {
      service.service.webhooks.start();
    }
    receiver.behave = () => ({ status: 200 });
    await settle();
    for (const d of await deliveries(sub.id)) expect(d).toMatchObject({ status: "delivered", attempts: 1 });
  });

  it("several senders at once send each delivery once; erasing a lead deletes its deliveries", async () => {
    const sub = await subscribe({ url: receiver.url("/shared"), events: ["lead.mql"] });
    const other = new WebhookDispatcher(service.service.db, {
      clock: () => clock.now,
      pollMs: 60_000,
      timeoutMs: TIMEOUT_MS,
      retryWindowMs: 24 * HOUR,
      perSubscription: 4,
    });
    const leads = [];
    for (let i = 0; i < 8; i++) leads.push(await qualifyLead("shared"));
    await Promise.all([other.runDue(clock.now), service.service.webhooks.runDue(clock.now)]);
    await other.stop();
    const got = receiver.to("/shared").map((r) => String(r.headers["qualify-id"]));
    expect(got).toHaveLength(8);
    expect(new Set(got).size).toBe(8);

    // Erasure: a waiting delivery of the lead goes with it.
    receiver.behave = () => ({ status: 500 });
    const doomed = await qualifyLead("shared");
    await settle();
    expect((await deliveries(sub.id, `&leadId=${doomed.leadId}`)).length).toBe(1);
    const erased = await service.api("DELETE", `/api/leads/${doomed.leadId}`);
    expect(erased.status, JSON.stringify(erased.body)).toBe(200);
    expect(await deliveries(sub.id, `&leadId=${doomed.leadId}`)).toHaveLength(0);
    expect(await deliveries(sub.id, `&leadId=${leads[0]?.leadId}`)).toHaveLength(1);
  });
});
