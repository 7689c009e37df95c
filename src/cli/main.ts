import { Command, CommanderError } from "commander";
import { QualifyError } from "../errors.js";
import { registerAdmin } from "./commands/admin.js";
import { registerAudiences } from "./commands/audiences.js";
import { registerDemo } from "./commands/demo.js";
import { registerAnalyticsConfig, registerFunnel } from "./commands/funnel.js";
import { registerHandoffs } from "./commands/handoffs.js";
import { registerImport } from "./commands/import.js";
import { registerLeads } from "./commands/leads.js";
import { registerModelBacktest } from "./commands/model-backtest.js";
import { registerModelCheck } from "./commands/model-check.js";
import { registerModelFit } from "./commands/model-fit.js";
import { registerModelPublish } from "./commands/model-publish.js";
import { registerNurture } from "./commands/nurture.js";
import { registerPublishableKeys } from "./commands/publishable-keys.js";
import { registerRouting } from "./commands/routing.js";
import { registerScore } from "./commands/score.js";
import { registerSequences } from "./commands/sequences.js";
import { registerStart } from "./commands/start.js";
import { registerTemplates } from "./commands/templates.js";
import { registerWebhooks } from "./commands/webhooks.js";
import { registerWorker } from "./commands/worker.js";

export function buildProgram(): Command {
  const program = new Command("qualify")
    .exitOverride()
    .description("Qualify: explainable lead scoring and MQL engine")
    .version("0.1.0")
    .showHelpAfterError("(run with --help for usage)");
  const model = program.command("model").description("work with scoring models");
  registerModelCheck(model);
  registerModelPublish(model);
  registerModelFit(model);
  registerModelBacktest(model);
  registerScore(program);
  registerStart(program);
  registerWorker(program);
  registerLeads(program);
  registerImport(program);
  registerDemo(program);
  registerAdmin(program);
  registerWebhooks(program);
  registerRouting(program);
  registerTemplates(program);
  registerSequences(program);
  registerNurture(program);
  registerHandoffs(program);
  registerFunnel(program);
  registerAnalyticsConfig(program);
  registerAudiences(program);
  registerPublishableKeys(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    // A command that finished with a partial failure (rejected lines, say) set its own code.
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof QualifyError) {
      process.stderr.write(`qualify: ${e.describe()}\n`);
      return 1;
    }
    throw e;
  }
}

process.exitCode = await main(process.argv.slice(2));
