import type { Command } from "commander";
import { loadRouting } from "../../handoff/routing-spec.js";
import { readText } from "../read-files.js";
import { printJson, withClient } from "../with-client.js";

interface Version {
  version: number;
  active: boolean;
  createdAt: string;
  createdBy: string | null;
  source: string;
}

/** `qualify routing …`: check, save, list, show and activate routing documents (docs/routing.md). */
export function registerRouting(program: Command): void {
  const routing = program
    .command("routing")
    .description("sales routing: teams, rules, SLAs (docs/routing.md)");

  routing
    .command("check")
    .description("validate a routing YAML file locally; every error with its line")
    .argument("<file>", "routing YAML")
    .action((file: string) => {
      const spec = loadRouting(readText(file), file);
      process.stdout.write(
        `${file}: ok (${Object.keys(spec.teams).length} teams, ${spec.rules.length} rules, fallback ${spec.fallback.team})\n`,
      );
    });

  routing
    .command("save")
    .description("store a routing file as a new version and make it active (talks to the API)")
    .argument("<file>", "routing YAML")
    .option("--inactive", "store it without making it active")
    .action(async (file: string, o: { inactive?: boolean }) => {
      const source = readText(file);
      loadRouting(source, file);
      await withClient(async (client) => {
        const v = await client.call<Version>("POST", "/api/routing", { source, activate: !o.inactive });
        process.stdout.write(`saved routing version ${v.version}${v.active ? " (active)" : ""}\n`);
      });
    });

  routing
    .command("versions")
    .description("list routing versions, newest first")
    .option("--json", "print JSON")
    .action(async (o: { json?: boolean }) => {
      await withClient(async (client) => {
        const list = await client.call<Version[]>("GET", "/api/routing/versions");
        if (o.json) return printJson(list.map(({ source: _, ...v }) => v));
        for (const v of list)
          process.stdout.write(
            `v${v.version}${v.active ? " (active)" : ""}  ${v.createdAt}${v.createdBy ? `  by ${v.createdBy}` : ""}\n`,
          );
        if (list.length === 0) process.stdout.write("no routing yet: qualify routing save <file>\n");
      });
    });

  routing
    .command("show")
    .description("print the active routing's YAML")
    .action(async () => {
      await withClient(async (client) => {
        const v = await client.call<Version>("GET", "/api/routing");
        process.stdout.write(`# routing v${v.version}\n${v.source}`);
      });
    });

  routing
    .command("activate")
    .description("make an earlier version active again")
    .argument("<version>", "version number")
    .action(async (version: string) => {
      await withClient(async (client) => {
        const v = await client.call<Version>(
          "POST",
          `/api/routing/versions/${encodeURIComponent(version)}/activate`,
        );
        process.stdout.write(`routing v${v.version} is active\n`);
      });
    });
}
