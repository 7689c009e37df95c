import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { DEFAULT_WINDOWS } from "../../lab/fit/event-counts.js";
import type { FitReport } from "../../lab/fit/fit-report.js";
import type { MeanSd } from "../../lab/fit/metrics.js";
import { table } from "../format-table.js";
import { printJson, withClient } from "../with-client.js";

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const ms = (m: MeanSd) => `${m.mean.toFixed(3)} ± ${m.sd.toFixed(3)}`;

function printFit(r: FitReport & { skipped: string[]; excluded: string[] }, out: string | undefined): void {
  const w = (s: string) => process.stdout.write(s);
  w(`Fitted on ${r.leads} leads, ${r.converted} reached '${r.outcome}' (${pct(r.converted / r.leads)}).\n`);
  if (r.excluded.length > 0) w(`Excluded: ${r.excluded.join(", ")}.\n`);
  if (r.skipped.length > 0) w(`Skipped (contact details or id-like): ${r.skipped.join(", ")}.\n`);
  const cv = r.crossValidation;
  w(`\n${cv.folds}-fold cross-validation (seed ${cv.seed}), mean ± sd over the folds:\n\n`);
  w(
    table(
      ["model", "ROC AUC", "PR AUC"],
      [
        ["additive points (this fit)", ms(cv.additive.rocAuc), ms(cv.additive.prAuc)],
        ["logistic regression (baseline)", ms(cv.logistic.rocAuc), ms(cv.logistic.prAuc)],
      ],
    ),
  );
  w("\nLift by decile of held-out score:\n\n");
  w(
    table(
      ["decile", "leads", "converted", "rate", "lift", "captured"],
      r.deciles.map((d) => [
        String(d.decile),
        String(d.leads),
        String(d.converted),
        pct(d.rate),
        d.lift.toFixed(2),
        pct(d.cumulativeCapture),
      ]),
    ),
  );
  w("\nCalibration (held-out):\n\n");
  w(
    table(
      ["predicted", "leads", "mean predicted", "observed"],
      r.calibration.map((c) => [
        `${pct(c.from)} – ${pct(c.to)}`,
        String(c.leads),
        pct(c.predicted),
        pct(c.observed),
      ]),
    ),
  );
  w("\nWhat moves the score most (points between a trait's lowest and highest bucket):\n\n");
  w(
    table(
      ["trait", "kind", "range"],
      r.features.slice(0, 15).map((f) => [f.name, f.kind, f.range.toFixed(2)]),
    ),
  );
  const t = r.threshold;
  w(
    `\nSuggested MQL threshold: ${t.points} points (best F1): ${t.mqls} MQLs, precision ${pct(t.precision)}, recall ${pct(t.recall)}.\n`,
  );
  if (out) {
    writeFileSync(out, r.model);
    w(`Model written to ${out}; check it with \`qualify model check ${out}\`.\n`);
  } else w(`\n${r.model}`);
}

const list = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

/** `qualify model fit --outcome won|opportunity|converted [--exclude COLS]`. */
export function registerModelFit(model: Command): void {
  model
    .command("fit")
    .description(
      "learn an additive points model from outcomes; prints cross-validated AUC beside a logistic baseline",
    )
    .requiredOption("--outcome <outcome>", "won, opportunity or converted (SQL or beyond)")
    .option("--exclude <traits>", "comma-separated traits to leave out (`*` matches any characters)", "")
    .option("--gap-days <days>", "features as of this many days before the outcome", "1")
    .option(
      "--windows <durations>",
      "comma-separated lookback windows of the event counts",
      DEFAULT_WINDOWS.join(","),
    )
    .option("--folds <n>", "cross-validation folds", "5")
    .option("--seed <n>", "the folds' seed", "42")
    .option("--out <file>", "write the model YAML here (else print it)")
    .option("--json", "print the report as JSON")
    .action(
      async (o: {
        outcome: string;
        exclude: string;
        gapDays: string;
        windows: string;
        folds: string;
        seed: string;
        out?: string;
        json?: boolean;
      }) => {
        await withClient(async (client) => {
          const r = await client.call<FitReport & { skipped: string[]; excluded: string[] }>(
            "POST",
            "/api/lab/fit",
            {
              outcome: o.outcome,
              exclude: list(o.exclude),
              gapDays: Number(o.gapDays),
              windows: list(o.windows),
              folds: Number(o.folds),
              seed: Number(o.seed),
            },
          );
          if (o.json) printJson(r);
          else printFit(r, o.out);
          if (o.json && o.out) writeFileSync(o.out, r.model);
        });
      },
    );
}
