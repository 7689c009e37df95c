import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { qualify as runQualify } from "../support/live-cli.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from "../support/test-service.js";

/**
 * `qualify demo` fills an empty workspace with a generated history, and the lab's commands work on
 * it: fit, backtest, capacity; the funnel reports read it too.
 */
describe.each(DATABASE_KINDS)("demo data on %s", (kind) => {
  let service: TestService;
  let env: Record<string, string>;

  beforeAll(async () => {
    service = await startTestService(kind, { clock: () => Date.parse("2026-11-01T00:00:00Z") });
    env = { QUALIFY_URL: service.url, QUALIFY_TOKEN: TEST_ADMIN_TOKEN };
  });
  afterAll(async () => {
    await service?.close();
  });

  it("fills an empty workspace once, and says so when it is not empty", async () => {
    const r = await runQualify(["demo", "--profiles", "3000", "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    const body = JSON.parse(r.stdout);
    expect(body).toMatchObject({
      profiles: 3000,
      from: "2026-05-03T00:00:00.000Z",
      to: "2026-11-01T00:00:00.000Z",
    });
    expect(body.events).toBeGreaterThan(30_000);
    expect(body.handoffs).toBeGreaterThan(500);
    expect(body.password).toBe("qualify-demo");
    expect(body.logins.map((l: { email: string }) => l.email)).toContain("demo-rep-1@sales.example");
    // Scored by the active model, as live processing would have: the list's scores are the
    // engine's, and equal what an explanation adds up to.
    const leads = await service.api("GET", "/api/leads?stage=sal&limit=5");
    for (const l of leads.body.items) {
      expect(l.scores.fit, l.id).toBeGreaterThanOrEqual(0);
      const why = await service.api("GET", `/api/leads/${l.id}/explain`);
      expect(why.body.scores).toEqual(l.scores);
      expect(why.body.stage).toBe("sal");
    }
    expect((await service.api("GET", "/api/routing")).body.spec.teams).toHaveProperty("enterprise");
    // Nurture: a paused welcome sequence, and its history among the leads' own events.
    const seq = (await service.api("GET", "/api/sequences/welcome")).body;
    expect(seq.running).toBe(false);
    const e = seq.enrollments;
    const enrolled = e.active + e.completed + e.exited;
    expect(enrolled).toBeGreaterThan(1000);
    expect(seq.emailsByStep["email-1"]).toEqual({ sent: enrolled });
    const first = seq.engagementByStep["email-1"];
    expect(first.clicked).toBeGreaterThan(0);
    expect(first.clicked).toBeLessThan(first.opened);
    expect(first.opened).toBeLessThan(enrolled);
    expect(seq.exitReasons.unsubscribed).toBeGreaterThan(0);
    const exited = await service.api("GET", "/api/sequences/welcome/enrollments?status=exited&limit=1000");
    const gone = exited.body.enrollments.find((x: { exitReason: string }) => x.exitReason === "unsubscribed");
    const history = JSON.stringify((await service.api("GET", `/api/leads/${gone.leadId}/events`)).body);
    expect(history).toContain("Email Opened");
    expect(history).toContain("Unsubscribed");
    const suppressed = (await service.api("GET", "/api/email/suppressions")).body.suppressions;
    expect(suppressed.map((x: { email: string }) => x.email)).toContain(gone.email);
    const again = await runQualify(["demo"], env);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/empty workspace; default has 3000 leads/);
    const funnel = await runQualify(["funnel", "--from", "2026-05-03", "--to", "2026-11-01"], env);
    expect(funnel.code, funnel.stderr).toBe(0);
    expect(funnel.stdout).toMatch(/mql/i);
  }, 120_000);

  it("runs the lab's commands on it: fit, backtest, capacity", async () => {
    const fit = await runQualify(["model", "fit", "--outcome", "opportunity"], env);
    expect(fit.code, fit.stderr).toBe(0);
    expect(fit.stdout).toMatch(/ROC AUC/);
    expect(fit.stdout).toMatch(/event-|page-views-/);
    const period = ["--from", "2026-08-01", "--to", "2026-11-01"];
    const backtest = await runQualify(["model", "backtest", "models/default.yaml", ...period], env);
    expect(backtest.code, backtest.stderr).toBe(0);
    expect(backtest.stdout).toMatch(/MQLs by week/);
    const capacity = await runQualify(["model", "capacity", "v1", "--per-week", "20", ...period], env);
    expect(capacity.code, capacity.stderr).toBe(0);
    expect(capacity.stdout).toMatch(/Capacity 20 MQLs a week/);
  }, 180_000);
});
