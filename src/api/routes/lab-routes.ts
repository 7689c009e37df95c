import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import * as z from "zod";
import { compileModel, loadModel } from "../../engine/index.js";
import { QualifyError } from "../../errors.js";
import { type BacktestModel, backtest } from "../../lab/backtest/backtest.js";
import { DEFAULT_FIT } from "../../lab/fit/fit-report.js";
import { loadLabDataset } from "../../lab/fit/lab-dataset.js";
import { runFit } from "../../lab/fit/run-fit.js";
import { OUTCOME_KINDS } from "../../lab/import/lead-mapping.js";
import { compileStored, getModel } from "../../pipeline/model-store.js";
import { MARKETING, requireRole, workspaceOf } from "../authenticate.js";
import { parseTime } from "../explain-lead.js";
import type { Service } from "../service.js";

const DAY = 86_400_000;

/** The model lab (docs/model-lab.md): backtests and comparisons of models, and fitting points from outcomes. */
export function labRoutes(app: FastifyInstance, service: Service): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const security = [{ bearer: [] }];

  r.post(
    "/api/lab/backtest",
    {
      preHandler: requireRole(service, MARKETING),
      config: { bodyLimit: 4 * 1024 * 1024 },
      schema: {
        tags: ["lab"],
        security,
        summary:
          "Replay stored history under one or more models (drafts as YAML, or stored versions) without touching live state: MQLs by week, precision, handoff rates, recall and lead time, and the leads each adds and drops against the live model",
        body: z.object({
          models: z
            .array(
              z.union([
                z.object({ source: z.string().min(1), label: z.string().min(1).optional() }),
                z.object({ version: z.number().int().min(1), label: z.string().min(1).optional() }),
              ]),
            )
            .min(1)
            .max(8),
          from: z.string().optional().describe("the period's start (ISO-8601; default 90 days before `to`)"),
          to: z.string().optional().describe("the period's end, exclusive (default now)"),
          examples: z.number().int().min(0).max(100).default(5),
        }),
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const to = parseTime("to", req.body.to) ?? service.clock();
      const from = parseTime("from", req.body.from) ?? to - 90 * DAY;
      if (to <= from)
        throw new QualifyError("INPUT_INVALID", "to must be after from", [
          { path: "to", message: "must be after from" },
        ]);
      const models = await Promise.all(
        req.body.models.map(async (m, i): Promise<BacktestModel> => {
          if ("version" in m) {
            const stored = await getModel(service.db, ws, m.version);
            return { label: m.label ?? `v${m.version}`, model: compileStored(stored.source, m.version) };
          }
          return {
            label: m.label ?? `model ${i + 1}`,
            model: compileModel(loadModel(m.source, `models[${i}]`)),
          };
        }),
      );
      return backtest(service.db, ws, models, { from, to, examples: req.body.examples });
    },
  );

  r.post(
    "/api/lab/fit",
    {
      preHandler: requireRole(service, MARKETING),
      schema: {
        tags: ["lab"],
        security,
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
      });
      const report = await runFit(dataset, {
        ...DEFAULT_FIT,
        outcome: b.outcome,
        folds: b.folds,
        seed: b.seed,
      });
      return { ...report, excluded: b.exclude, skipped: dataset.skipped };
    },
  );
}
