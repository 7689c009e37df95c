import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import * as z from "zod";
import { DEFAULT_FIT } from "../../lab/fit/fit-report.js";
import { loadLabDataset } from "../../lab/fit/lab-dataset.js";
import { runFit } from "../../lab/fit/run-fit.js";
import { OUTCOME_KINDS } from "../../lab/import/lead-mapping.js";
import { MARKETING, requireRole, workspaceOf } from "../authenticate.js";
import type { Service } from "../service.js";

const DAY = 86_400_000;

/** The model lab (docs/model-lab.md): fitting points from outcomes. */
export function labRoutes(app: FastifyInstance, service: Service): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const security = [{ bearer: [] }];

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
