import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Random } from "../../src/analytics/random.js";
import { parseModel } from "../../src/engine/index.js";
import { qualify as runQualify } from "../support/live-cli.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from "../support/test-service.js";

/**
 * `qualify model fit` on stored leads: 600 generated leads whose chance to be won depends on their
 * plan and visit count. Converters also get a `status` trait *after* they are won, which a fit
 * must not see (the leakage guard).
 */
const DAY = 86_400_000;
const T0 = Date.parse("2026-03-01T00:00:00Z");

function history(): { lines: string[]; outcomes: { userId: string; outcome: "won"; at: number }[] } {
  const rng = new Random(5);
  const lines: string[] = [];
  const outcomes: { userId: string; outcome: "won"; at: number }[] = [];
  const effect: Record<string, number> = { free: -1.2, pro: 0.3, enterprise: 1.2 };
  for (let i = 0; i < 600; i++) {
    const userId = `u${i}`;
    const plan = rng.pick(["free", "pro", "enterprise"]);
    const visits = Math.floor(rng.exponential(4));
    const created = T0 + rng.int(60) * DAY;
    const won = rng.next() < 1 / (1 + Math.exp(-(effect[plan] as number) - 0.25 * Math.min(visits, 8) + 1));
    const identify = (at: number, traits: Record<string, unknown>, n: number) =>
      JSON.stringify({
        type: "identify",
        userId,
        traits,
        timestamp: new Date(at).toISOString(),
        messageId: `m-${i}-${n}`,
      });
    lines.push(identify(created, { email: `${userId}@x.example`, plan, counts: { visits } }, 0));
    if (won) {
      outcomes.push({ userId, outcome: "won", at: created + 10 * DAY });
      lines.push(identify(created + 11 * DAY, { status: "customer" }, 1));
    } else lines.push(identify(created + 20 * DAY, { seen: true }, 1));
  }
  return { lines, outcomes };
}

describe.each(DATABASE_KINDS)("fitting a model on %s", (kind) => {
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService(kind);
    const h = history();
    const up = await service.api("POST", "/api/import", { lines: h.lines });
    expect(up.status, JSON.stringify(up.body)).toBe(200);
    await service.drain();
    const o = await service.api("POST", "/api/import/outcomes", {
      outcomes: [...h.outcomes, { userId: "nobody", outcome: "won", line: 9 }],
    });
    expect(o.body.recorded).toBe(h.outcomes.length);
    expect(o.body.rejected).toEqual([{ line: 9, field: "userId", reason: "no lead has userId 'nobody'" }]);
  });
  afterAll(async () => {
    await service.close();
  });

  it("learns points from outcomes, reports AUC beside the baseline, and writes a model the engine runs", async () => {
    const r = await service.api("POST", "/api/lab/fit", { outcome: "won", folds: 3 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.leads).toBe(600);
    expect(r.body.crossValidation.folds).toBe(3);
    expect(r.body.crossValidation.additive.rocAuc.mean).toBeGreaterThan(0.7);
    expect(r.body.crossValidation.logistic.rocAuc.mean).toBeGreaterThan(0.7);
    expect(r.body.deciles).toHaveLength(10);
    expect(r.body.deciles[0].rate).toBeGreaterThan(r.body.deciles[9].rate);
    expect(r.body.skipped).toContain("email");
    const names = r.body.features.map((f: { name: string }) => f.name);
    expect(names).toEqual(expect.arrayContaining(["plan", "counts.visits"]));
    // The status trait came after the outcome: at every lead's cutoff it is unknown.
    expect(names).not.toContain("status");
    const model = parseModel(r.body.model, "fitted.yaml");
    expect(model.spec.fit.map((f) => f.id)).toEqual(expect.arrayContaining(["plan", "counts-visits"]));
    expect(r.body.threshold.mqls).toBeGreaterThan(0);
  });

  it("leaves out excluded traits, and names a bad outcome", async () => {
    const r = await service.api("POST", "/api/lab/fit", { outcome: "won", folds: 3, exclude: ["pla*"] });
    expect(r.body.features.map((f: { name: string }) => f.name)).not.toContain("plan");
    const bad = await service.api("POST", "/api/lab/fit", { outcome: "signed" });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.details)).toMatch(/outcome/);
  });

  it("prints readable tables from the CLI", async () => {
    const out = await runQualify(["model", "fit", "--outcome", "won", "--folds", "3"], {
      QUALIFY_URL: service.url,
      QUALIFY_TOKEN: TEST_ADMIN_TOKEN,
    });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/Fitted on 600 leads, \d+ reached 'won'/);
    expect(out.stdout).toMatch(/additive points \(this fit\)\s+0\.\d{3} ± 0\.\d{3}/);
    expect(out.stdout).toMatch(/logistic regression \(baseline\)/);
    expect(out.stdout).toContain("Lift by decile");
    expect(out.stdout).toMatch(/Suggested MQL threshold: -?[\d.]+ points/);
    expect(out.stdout).toContain("group: predicted");
  });
});
