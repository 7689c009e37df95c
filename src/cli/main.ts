import { Command, CommanderError } from "commander";
import { QualifyError } from "../errors.js";
import { registerModelCheck } from "./commands/model-check.js";
import { registerScore } from "./commands/score.js";

export function buildProgram(): Command {
  const program = new Command("qualify")
    .exitOverride()
    .description("Qualify: explainable lead scoring and MQL engine")
    .version("0.1.0")
    .showHelpAfterError("(run with --help for usage)");
  const model = program.command("model").description("work with scoring models");
  registerModelCheck(model);
  registerScore(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
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
