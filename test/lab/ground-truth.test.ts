import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GenProfile, generateHistory, oracleScore } from "../../src/analytics/generate-history.js";
import { writeProfiles, writeReps } from "../../src/analytics/write-history.js";
import {
  type CompiledModel,
  type Input,
  newLeadState,
  parseModel,
  replay,
  summarize,
} from "../../src/engine/index.js";
import { crossValidate, fitAdditive } from "../../src/lab/fit/cross-validate.js";
import { DEFAULT_WINDOWS } from "../../src/lab/fit/event-counts.js";
import { DEFAULT_FIT, pointsOf } from "../../src/lab/fit/fit-report.js";
import { type LabDataset, loadLabDataset } from "../../src/lab/fit/lab-dataset.js";
import { rocAuc } from "../../src/lab/fit/metrics.js";
import { toModelYaml } from "../../src/lab/fit/to-model.js";
import { streamLeads } from "../../src/pipeline/rescore-stream.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService, type TestService } from "../support/test-service.js";

/**
 * Fitting against the ground truth: 4,000 generated profiles over 180 days, each with a latent
 * propensity its behaviour is drawn from, and outcomes drawn from it and fit
 * (`generate-history.ts`). The oracle ranks by what the outcomes were drawn from
 * (`oracleScore`); a fitted model sees only the traits and the event counts before each lead's
 * cutoff. Compared on held-out leads (cross-validation), among the leads the oracle is about:
 * identified leads with at least 90 days for the outcome to happen (the oracle knows neither
 * whether a profile would fill a form nor how late it came).
 */
const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 5);
const DAYS = 180;
const END = START + DAYS * DAY;
const REPS = [
  { id: "rep-1", team: "smb" },
  { id: "rep-2", team: "enterprise" },
];
const WS = "default";

describe.each(DATABASE_KINDS)("fitting against the ground truth on %s", (kind) => {
  let service: TestService;
  let dataset: LabDataset;
  let fitted: { model: string; rocAuc: number };
  let heldOut: Float64Array;
  const byId = new Map<string, GenProfile>();
  /** Each lead's stored inputs, by lead id. */
  const inputs = new Map<string, Input[]>();
  /** Rows of the dataset the oracle is about (see above). */
  let rows: number[];

  /** Every lead's score under a model at its cutoff, by the engine. */
  const engineScores = (m: CompiledModel, score: (s: Record<string, number>) => number) =>
    dataset.leadIds.map((id, i) => {
      const cutoff = dataset.cutoffs[i] as number;
      const known = (inputs.get(id) ?? []).filter((x) => x.at <= cutoff);
      return score(summarize(m, replay(m, newLeadState(m), [], known, cutoff).state, cutoff).scores);
    });
  const auc = (scores: ArrayLike<number>) =>
    rocAuc(
      rows.map((i) => scores[i] as number),
      rows.map((i) => dataset.labels[i] as number),
    );

  beforeAll(async () => {
    service = await startTestService(kind, { clock: () => END });
    const db = service.service.db;
    await writeReps(db, WS, REPS);
    const history = [...generateHistory({ seed: 21, profiles: 4_000, start: START, days: DAYS, reps: REPS })];
    for (const p of history) byId.set(p.id, p);
    for (let i = 0; i < history.length; i += 1_000)
      await db.transaction((tx) => writeProfiles(tx, WS, history.slice(i, i + 1_000)));
    for await (const page of streamLeads(db, WS, { context: false }))
      for (const l of page) inputs.set(l.id, l.inputs);
    const r = await service.api("POST", "/api/lab/fit", { outcome: "opportunity" });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    fitted = { model: r.body.model, rocAuc: r.body.crossValidation.additive.rocAuc.mean };
    dataset = await loadLabDataset(db, WS, {
      outcome: "opportunity",
      exclude: [],
      gapMs: DAY,
      windows: DEFAULT_WINDOWS,
    });
    const cv = crossValidate(dataset, DEFAULT_FIT.folds, DEFAULT_FIT.seed);
    // The same cross-validation the API reported.
    expect(cv.additive.rocAuc.mean).toBeCloseTo(fitted.rocAuc, 12);
    heldOut = cv.heldOut;
    rows = dataset.leadIds.flatMap((id, i) => {
      const p = byId.get(id) as GenProfile;
      return p.transitions.some((t) => t.to === "lead") && p.firstSeenAt <= END - 90 * DAY ? [i] : [];
    });
  }, 240_000);
  afterAll(async () => {
    await service?.close();
  });

  it("learns points for event counts as engagement rules, beside fit rules for traits", () => {
    const m = parseModel(fitted.model, "fitted");
    expect(m.spec.rules.length).toBeGreaterThan(3);
    for (const rule of m.spec.rules) {
      expect(rule.group).toBe("predicted");
      expect(rule.decay).toHaveProperty("lookback");
    }
    expect(m.spec.fit.map((f) => f.id)).toEqual(expect.arrayContaining(["title", "company-industry"]));
  });

  it("reaches at least 95 % of the oracle's AUC on held-out leads", () => {
    const oracle = auc(dataset.leadIds.map((id) => oracleScore(byId.get(id) as GenProfile)));
    const model = auc(heldOut);
    console.log(`${kind}: oracle AUC ${oracle.toFixed(4)}, fitted (held out) ${model.toFixed(4)}`);
    expect(model).toBeGreaterThanOrEqual(0.95 * oracle);
  });

  it("ranks better than the default model", () => {
    const m = parseModel(readFileSync("models/default.yaml", "utf8"), "models/default.yaml");
    const byDefault = auc(engineScores(m, (s) => (s.engagement ?? 0) + (s.fit ?? 0)));
    console.log(`${kind}: default model AUC ${byDefault.toFixed(4)}`);
    expect(auc(heldOut)).toBeGreaterThan(byDefault + 0.02);
  });

  it("runs unchanged in the engine: every lead's score there is the fit's at its cutoff", () => {
    const all = dataset.leadIds.map((_, i) => i);
    const f = fitAdditive(dataset, all);
    const expected = pointsOf(f.model, f.x, all);
    const m = parseModel(
      toModelYaml(f.model, f.bins, f.terms, { name: "check", description: "", threshold: 0 }),
      "fitted",
    );
    const engine = engineScores(m, (s) => s.predicted ?? 0);
    all.forEach((i) => {
      expect(engine[i]).toBeCloseTo(expected[i] as number, 6);
    });
  });

  it("shows both in a backtest: the fitted model's MQLs reach an opportunity more often", async () => {
    const r = await service.api("POST", "/api/lab/backtest", {
      models: [
        { version: 1, label: "default" },
        { source: fitted.model, label: "fitted" },
      ],
      from: new Date(START).toISOString(),
      to: new Date(END).toISOString(),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const [byDefault, byFit] = r.body.models;
    console.log(
      `${kind}: backtest precision default ${byDefault.precision.rate}, fitted ${byFit.precision.rate}; recall ${byDefault.recall.rate} vs ${byFit.recall.rate}`,
    );
    expect(byFit.mqls).toBeGreaterThan(0);
    expect(byFit.precision.rate).toBeGreaterThan(byDefault.precision.rate);
  });
});
