import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import * as z from "zod";
import { DURATION_PATTERN } from "../../engine/duration.js";
import { compileModel, loadModel } from "../../engine/index.js";
import { QualifyError } from "../../errors.js";
import { type BacktestModel, backtest } from "../../lab/backtest/backtest.js";
import { capacityReport } from "../../lab/backtest/capacity.js";
import { DEFAULT_WINDOWS } from "../../lab/fit/event-counts.js";
import { DEFAULT_FIT } from "../../lab/fit/fit-report.js";
import { loadLabDataset } from "../../lab/fit/lab-dataset.js";
import { runFit } from "../../lab/fit/run-fit.js";
import { OUTCOME_KINDS } from "../../lab/import/lead-mapping.js";
import { getModel } from "../../pipeline/model-store.js";
import { MARKETING, requireRole, workspaceOf } from "../authenticate.js";
import { parseTime } from "../explain-lead.js";
import type { Service } from "../service.js";

const DAY = 86_400_000;

/** A model to run: a draft's YAML, or a stored version. */
const modelRef = z.union([
  z.object({ source: z.string().min(1), label: z.string().min(1).optional() }),
  z.object({ version: z.number().int().min(1), label: z.string().min(1).optional() }),
]);

/** The model lab (docs/model-lab.md): backtests and comparisons of models, and fitting points from outcomes. */
export function labRoutes(app: FastifyInstance, service: Service): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const marketing = { preHandler: requireRole(service, MARKETING) };
  const lab = { tags: ["lab"], security: [{ bearer: [] }] };

  /** A draft's YAML, or a stored version's. */
  const sourceOf = async (ws: string, m: z.infer<typeof modelRef>, name: string) =>
    "version" in m
      ? { source: (await getModel(service.db, ws, m.version)).source, label: `v${m.version}` }
      : { source: m.source, label: name };
  /** The period: `to` (default now) and `from` (default 90 days before), `to` after `from`. */
  const period = (b: { from?: string | undefined; to?: string | undefined }) => {
    const to = parseTime("to", b.to) ?? service.clock();
    const from = parseTime("from", b.from) ?? to - 90 * DAY;
    if (to <= from)
      throw new QualifyError("INPUT_INVALID", "to must be after from", [
        { path: "to", message: "must be after from" },
      ]);
    return { from, to };
  };
  const periodSchema = {
    from: z.string().optional().describe("the period's start (ISO-8601; default 90 days before `to`)"),
    to: z.string().optional().describe("the period's end, exclusive (default now)"),
  };

  r.post(
    "/api/lab/backtest",
    {
      ...marketing,
      config: { bodyLimit: 4 * 1024 * 1024 },
      schema: {
        ...lab,
        summary:
          "Replay stored history under one or more models (drafts as YAML, or stored versions) without touching live state: MQLs by week, precision, handoff rates, recall and lead time, and the leads each adds and drops against the live model",
        body: z.object({
          models: z.array(modelRef).min(1).max(8),
          ...periodSchema,
          examples: z.number().int().min(0).max(100).default(5),
        }),
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const models = await Promise.all(
        req.body.models.map(async (m, i): Promise<BacktestModel> => {
          const { source, label } = await sourceOf(ws, m, `model ${i + 1}`);
          return { label: m.label ?? label, model: compileModel(loadModel(source, `models[${i}]`)) };
        }),
      );
      return backtest(service.db, ws, models, {
        ...period(req.body),
        examples: req.body.examples,
        threads: service.config.backtestThreads,
      });
    },
  );

  r.post(
    "/api/lab/capacity",
    {
      ...marketing,
      config: { bodyLimit: 4 * 1024 * 1024 },
      schema: {
        ...lab,
        summary:
          "Suggest the MQL thresholds that fit a sales capacity (MQLs per week) over a backtest period: precision and recall there and at the current thresholds, and the curve over all",
        body: z.object({
          model: modelRef,
          capacity: z.number().positive().describe("MQLs per week that sales can take"),
          ...periodSchema,
        }),
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const { source } = await sourceOf(ws, req.body.model, "model");
      loadModel(source, "model");
      return capacityReport(service.db, ws, source, req.body.capacity, {
        ...period(req.body),
        threads: service.config.backtestThreads,
      });
    },
  );

  r.post(
    "/api/lab/fit",
    {
      ...marketing,
      schema: {
        ...lab,
        summary:
          "Learn an additive points model from outcomes: cross-validated ROC and PR AUC beside a logistic baseline, lift and calibration tables, a suggested threshold, and the model YAML",
        body: z.object({
          outcome: z
            .enum(OUTCOME_KINDS)
            .describe("what counts as converted: SQL or beyond, an opportunity, or a win"),
          exclude: z
            .array(z.string().min(1))
            .default([])
            .describe("traits to leave out (`*` matches any characters)"),
          gapDays: z
            .number()
            .min(0)
            .max(365)
            .default(1)
            .describe("features as of this many days before the outcome"),
          windows: z
            .array(z.string().regex(DURATION_PATTERN, "expected a duration such as 7d, 12h or 2w"))
            .max(8)
            .default([...DEFAULT_WINDOWS])
            .describe("lookback windows of the event counts (each matcher's events within each)"),
          folds: z.number().int().min(2).max(20).default(DEFAULT_FIT.folds),
          seed: z.number().int().default(DEFAULT_FIT.seed),
        }),
      },
    },
    async (req) => {
      const b = req.body;
      const dataset = await loadLabDataset(service.db, workspaceOf(req), {
        outcome: b.outcome,
        exclude: b.exclude,
        gapMs: b.gapDays * DAY,
        windows: b.windows,
      });
      const report = await runFit(
        dataset,
        { ...DEFAULT_FIT, outcome: b.outcome, folds: b.folds, seed: b.seed },
        service.config.fitThreads,
      );
      return { ...report, excluded: b.exclude, skipped: dataset.skipped };
    },
  );
}
