import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Random } from "../../src/analytics/random.js";
import { compileModel, loadModel } from "../../src/engine/index.js";
import { backtest } from "../../src/lab/backtest/backtest.js";
import { type Call, sendBatch } from "../support/live-checks.js";
import { qualify as runQualify } from "../support/live-cli.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from "../support/test-service.js";

/**
 * Backtests on a live service: 80 generated leads (traits, downloads, webinars, pricing visits,
 * some demo requests) sent out of time order through /v1/batch and scored live under the default
 * model; some reach an opportunity by an imported CRM fact. A backtest of the active model must
 * reproduce the stored MQLs exactly; a draft with lower thresholds only adds MQLs, earlier.
 */
const DAY = 86_400_000;
const T0 = Date.parse("2026-02-02T09:00:00Z");

function calls(): { calls: Call[]; outcomes: { userId: string; outcome: "opportunity"; at: number }[] } {
  const rng = new Random(9);
  const out: Call[] = [];
  const outcomes: { userId: string; outcome: "opportunity"; at: number }[] = [];
  let n = 0;
  const call = (userId: string, at: number, body: Record<string, unknown> & { type: string }) =>
    out.push({ userId, messageId: `bt-${n++}`, timestamp: new Date(at).toISOString(), ...body });
  for (let i = 0; i < 80; i++) {
    const userId = `bt-user-${i}`;
    let at = T0 + rng.int(30) * DAY;
    call(userId, at, {
      type: "identify",
      traits: {
        email: `${userId}@${rng.chance(0.3) ? "gmail.com" : "acme.example"}`,
        title: rng.pick(["VP Sales", "Marketing Manager", "Engineer", "Director of IT"]),
        company: { employee_count: rng.pick([5, 40, 120, 600, 2000]) },
      },
    });
    const events = rng.int(12);
    for (let e = 0; e < events; e++) {
      at += Math.floor(rng.exponential(2 * DAY));
      const kind = rng.int(4);
      if (kind === 0)
        call(userId, at, { type: "track", event: "Asset Downloaded", properties: { type: "ebook" } });
      else if (kind === 1) call(userId, at, { type: "track", event: "Webinar Attended" });
      else if (kind === 2)
        call(userId, at, { type: "page", name: "Pricing", properties: { path: "/pricing" } });
      else call(userId, at, { type: "track", event: "Form Submitted" });
    }
    if (rng.chance(0.08)) call(userId, at + DAY, { type: "track", event: "Demo Requested" });
    if (rng.chance(0.3)) outcomes.push({ userId, outcome: "opportunity", at: at + 3 * DAY });
  }
  // Out of time order, as late and retried deliveries arrive.
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j] as Call, out[i] as Call];
  }
  return { calls: out, outcomes };
}

const lowered = readFileSync("models/default.yaml", "utf8")
  .replace("name: default-b2b", "name: lower-thresholds")
  .replace("{ score: engagement, gte: 50 }", "{ score: engagement, gte: 30 }")
  .replace("{ score: engagement, gte: 80 }", "{ score: engagement, gte: 60 }");

const raised = readFileSync("models/default.yaml", "utf8")
  .replace("name: default-b2b", "name: higher-thresholds")
  .replace("{ score: engagement, gte: 50 }", "{ score: engagement, gte: 70 }")
  .replace("{ score: engagement, gte: 80 }", "{ score: engagement, gte: 100 }");

describe.each(DATABASE_KINDS)("backtests on %s", (kind) => {
  let service: TestService;
  const period = { from: "2026-01-01T00:00:00Z", to: "2026-06-01T00:00:00Z" };

  beforeAll(async () => {
    service = await startTestService(kind, { clock: () => Date.parse("2026-05-01T00:00:00Z") });
    const h = calls();
    for (let i = 0; i < h.calls.length; i += 100) await sendBatch(service, h.calls.slice(i, i + 100));
    await service.drain();
    const o = await service.api("POST", "/api/import/outcomes", { outcomes: h.outcomes });
    expect(o.status, JSON.stringify(o.body)).toBe(200);
    await service.drain();
  });
  afterAll(async () => {
    await service.close();
  });

  it("reproduces the stored MQL set and times exactly under the active model, touching nothing", async () => {
    const before = await service.service.db.query(
      "select id, stage, scores, updated_at from leads order by id",
    );
    const r = await service.api("POST", "/api/lab/backtest", { models: [{ version: 1 }], ...period });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const [v1] = r.body.models;
    expect(r.body.live.mqls).toBeGreaterThan(5);
    expect(v1.vsLive).toMatchObject({ adds: 0, drops: 0, both: r.body.live.mqls });
    // Same leads at the same times: the weeks, precision, recall and lead times all agree.
    const { label: _a, ...live } = r.body.live;
    const { label: _b, ...mine } = v1;
    expect(mine).toEqual(live);
    expect(v1.leadTime.same).toBe(v1.leadTime.leads);
    const stored = await service.service.db.query<{ n: number }>(
      "select count(distinct lead_id)::int as n from transitions where to_stage = 'mql'",
    );
    expect(v1.mqls).toBe(stored[0]?.n);
    expect(
      await service.service.db.query("select id, stage, scores, updated_at from leads order by id"),
    ).toEqual(before);
  });

  it("compares a draft side by side: lower thresholds add MQLs, earlier, with their reasons", async () => {
    const r = await service.api("POST", "/api/lab/backtest", {
      models: [
        { version: 1, label: "live model" },
        { source: lowered, label: "lower" },
      ],
      ...period,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const [v1, lower] = r.body.models;
    expect(v1.label).toBe("live model");
    expect(lower.mqls).toBeGreaterThan(v1.mqls);
    expect(lower.vsLive.drops).toBe(0);
    expect(lower.vsLive.adds).toBe(lower.mqls - v1.mqls);
    expect(lower.vsLive.addExamples[0].reason).toMatch(/engagement/);
    expect(lower.recall.qualified).toBeGreaterThanOrEqual(v1.recall.qualified);
    expect(lower.leadTime.later).toBe(0);
    // The adds were never handed off: sales could not have accepted them (unobservable).
    expect(lower.handoff.unobservable).toBe(lower.vsLive.adds);
  });

  it("gives the same report replayed in the server's thread and on worker threads", async () => {
    const compile = (yaml: string) => compileModel(loadModel(yaml));
    const models = [
      { label: "lower", model: compile(lowered) },
      { label: "higher", model: compile(raised) },
    ];
    const o = { from: Date.parse(period.from), to: Date.parse(period.to), examples: 3 };
    const inline = await backtest(service.service.db, "default", models, { ...o, threads: 0 });
    const threaded = await backtest(service.service.db, "default", models, { ...o, threads: 2 });
    expect(threaded).toEqual(inline);
    // Drops carry the live MQL's stored reason and the lead's email, adds the draft's own reason.
    const higher = inline.models[1];
    expect(higher?.vsLive.drops).toBeGreaterThan(0);
    for (const e of higher?.vsLive.dropExamples ?? []) {
      expect(e.reason).toMatch(/engagement|demo|score/i);
      expect(e.email).toMatch(/@/);
    }
    expect(inline.models[0]?.vsLive.addExamples[0]?.reason).toMatch(/engagement/);
  });

  it("prints the comparison as tables from the CLI", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qualify-backtest-"));
    const file = join(dir, "lower.yaml");
    writeFileSync(file, lowered);
    const env = { QUALIFY_URL: service.url, QUALIFY_TOKEN: TEST_ADMIN_TOKEN };
    const out = await runQualify(
      ["model", "compare", "v1", file, "--from", period.from, "--to", period.to],
      env,
    );
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/Backtest 2026-01-01 to 2026-06-01: 80 leads, \d+ stored inputs replayed/);
    expect(out.stdout).toMatch(/MQLs\s+\d+\s+\d+\s+\d+/);
    expect(out.stdout).toContain("MQLs by week");
    expect(out.stdout).toMatch(/lower\.yaml: adds \(first \d\):/);
    const one = await runQualify(
      ["model", "backtest", file, "--from", period.from, "--to", period.to, "--json"],
      env,
    );
    expect(JSON.parse(one.stdout).models[0].label).toBe("lower.yaml");
    const cap = await runQualify(
      ["model", "capacity", "v1", "--per-week", "1", "--from", period.from, "--to", period.to],
      env,
    );
    expect(cap.code, cap.stderr).toBe(0);
    expect(cap.stdout).toMatch(/Capacity 1 MQLs a week, over 21\.\d weeks/);
    expect(cap.stdout).toMatch(/current\s+×1\s+50, 80/);
    expect(cap.stdout).toContain("The curve (every factor tried)");
    const missing = await runQualify(["model", "backtest", join(dir, "nope.yaml")], env);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("nope.yaml");
  });

  it("suggests the thresholds that fit a sales capacity, with the curve over all", async () => {
    const base = await service.api("POST", "/api/lab/backtest", { models: [{ version: 1 }], ...period });
    const weeks = (Date.parse(period.to) - Date.parse(period.from)) / (7 * DAY);
    const capacity = base.body.live.mqls / weeks / 2;
    const r = await service.api("POST", "/api/lab/capacity", { model: { version: 1 }, capacity, ...period });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.current).toMatchObject({ factor: 1, thresholds: [50, 80] });
    expect(r.body.current.mqlsPerWeek).toBeCloseTo(base.body.live.mqls / weeks, 9);
    expect(r.body.curve).toHaveLength(29);
    const s = r.body.suggested;
    expect(s.factor).toBeGreaterThan(1);
    expect(s.mqlsPerWeek).toBeLessThanOrEqual(capacity);
    // The lowest thresholds within capacity: the next lower ones exceed it.
    const i = r.body.curve.findIndex((p: { factor: number }) => p.factor === s.factor);
    expect(r.body.curve[i - 1].mqlsPerWeek).toBeGreaterThan(capacity);
    expect(s.thresholds).toEqual([50 * s.factor, 80 * s.factor].map((x) => Math.round(x * 100) / 100));
    expect(r.body.model).toContain(`gte: ${s.thresholds[0]}`);
  });

  it("says which field is wrong", async () => {
    const bad = await service.api("POST", "/api/lab/backtest", { models: [{ source: "rules: [" }] });
    expect(bad.status).toBe(422);
    expect(bad.body.error).toBe("MODEL_INVALID");
    const reversed = await service.api("POST", "/api/lab/backtest", {
      models: [{ version: 1 }],
      from: "2026-05-01",
      to: "2026-04-01",
    });
    expect(reversed.status).toBe(400);
    expect(reversed.body.details).toEqual([{ path: "to", message: "must be after from" }]);
  });
});
