import { createInterface } from "node:readline/promises";
import type { Command } from "commander";
import { ERROR_CODES, type ErrorCode, QualifyError } from "../../errors.js";
import type { Preview } from "../../pipeline/publish-model.js";
import { progressBar } from "../progress.js";
import { readModelFile, readText } from "../read-files.js";
import { withClient } from "../with-client.js";

function printPreview(p: Preview): void {
  const out = process.stdout;
  out.write(`Preview of model v${p.version} over ${p.leads} leads:\n`);
  out.write(
    `  ${p.newlyQualifying} would newly qualify; ${p.newlyQualifyingActive} of them active in the last ${p.activeDays} days get an MQL now\n`,
  );
  out.write(`  ${p.noLongerQualifying} current MQLs would not have qualified (they keep their stage)\n`);
  if (p.byWeek.length > 0) {
    out.write("  newly qualifying, by the week they would have qualified:\n");
    for (const w of p.byWeek) out.write(`    week of ${w.week}: ${w.leads} (${w.active} active)\n`);
  }
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/** `qualify model publish FILE`: validate, store, preview, and (with --yes or a confirmation) publish. */
export function registerModelPublish(model: Command): void {
  model
    .command("publish")
    .description("store a model version, preview how many leads would newly qualify, and publish it")
    .argument("<file>", "model YAML file")
    .option("--yes", "publish without asking")
    .option("--active-days <n>", "only leads active within this many days get an MQL now", "30")
    .action(async (file: string, o: { yes?: boolean; activeDays: string }) => {
      // Validated here first, so a bad file is reported with its name and lines before anything is sent.
      const text = readText(file);
      readModelFile(file);
      await withClient(async (client) => {
        const activeDays = Number(o.activeDays);
        const { model: stored, preview } = await client.call<{
          model: { version: number };
          preview: Preview;
        }>("POST", "/api/models", {
          source: text,
          activeDays,
        });
        printPreview(preview);
        if (!o.yes && !(await confirm(`Publish model v${stored.version}? [y/N] `))) {
          process.stdout.write(
            `Not published. Model v${stored.version} is stored; publish it with --yes, or POST /api/models/${stored.version}/publish {"confirm": true}.\n`,
          );
          process.exitCode = 2;
          return;
        }
        let bar: ReturnType<typeof progressBar> | null = null;
        let result: Record<string, unknown> | null = null;
        // The bar is stopped whatever happens (it hides the terminal's cursor while it draws).
        await client
          .stream("POST", `/api/models/${stored.version}/publish`, { confirm: true, activeDays }, (line) => {
            const progress = line.progress as { done: number; total: number } | undefined;
            if (progress) {
              bar ??= progressBar("rescore", progress.total);
              bar.update(progress.done);
            } else if (line.result) result = line.result as Record<string, unknown>;
            else if (line.error) {
              // The error as the CLI reports every error: its message, exit code 1.
              const code = line.error as ErrorCode;
              throw new QualifyError(code in ERROR_CODES ? code : "NOT_READY", String(line.message));
            }
          })
          .finally(() => (bar as ReturnType<typeof progressBar> | null)?.stop());
        const r = result as { rescored: number; newlyQualified: number; skippedInactive: number } | null;
        // A stream that ends without its result (the server stopped, the connection was cut) is a
        // failure: the publish may or may not have committed.
        if (!r)
          throw new QualifyError(
            "NOT_READY",
            `publishing model v${stored.version}: the server's answer ended without a result; check GET /api/models/history`,
          );
        process.stdout.write(
          `Published model v${stored.version}: ${r.rescored} leads rescored, ${r.newlyQualified} newly qualified, ${r.skippedInactive} inactive leads left to qualify at their next event.\n`,
        );
      });
    });
}
