import type { Command } from "commander";
import type { DemoResult } from "../../analytics/load-demo.js";
import { DEFAULT_DEMO } from "../../analytics/load-demo.js";
import { printJson, withClient } from "../with-client.js";

/** `qualify demo [--profiles N] [--days D] [--seed S]`: a generated history in an empty workspace. */
export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(
      "fill an empty workspace with a realistic generated history (leads, events, handoffs, outcomes)",
    )
    .option("--profiles <n>", "profiles (visitors) to generate", String(DEFAULT_DEMO.profiles))
    .option("--days <n>", "days of history, ending now", String(DEFAULT_DEMO.days))
    .option("--seed <n>", "the generator's seed (the same seed, the same history)", String(DEFAULT_DEMO.seed))
    .option("--json", "print the result as JSON")
    .action(async (o: { profiles: string; days: string; seed: string; json?: boolean }) => {
      await withClient(async (client) => {
        const r = await client.call<DemoResult>("POST", "/api/demo", {
          profiles: Number(o.profiles),
          days: Number(o.days),
          seed: Number(o.seed),
        });
        if (o.json) printJson(r);
        else
          process.stdout.write(
            `Demo data from ${r.from.slice(0, 10)} to ${r.to.slice(0, 10)}: ${r.profiles} profiles, ${r.events} events, ${r.transitions} stage changes, ${r.handoffs} handoffs to 4 sales reps (demo-rep-1…4@sales.example).\n` +
              `Dashboard logins (password ${r.password}): ${r.logins.map((l) => `${l.email} (${l.role})`).join(", ")}.\n`,
          );
      });
    });
}
