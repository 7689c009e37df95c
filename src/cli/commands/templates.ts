import type { Command } from "commander";
import { loadTemplate, templateVariables } from "../../nurture/template-spec.js";
import { readText } from "../read-files.js";
import { printJson, withClient } from "../with-client.js";

interface Stored {
  id: string;
  version: number;
  source: string;
  createdAt: string;
  createdBy: string | null;
  variables: string[];
}

interface Summary {
  id: string;
  name: string | null;
  subject: string;
  version: number;
  versions: number;
  createdAt: string;
}

const enc = encodeURIComponent;
const variablesLine = (vs: string[]) => (vs.length > 0 ? vs.join(", ") : "none");

/** `qualify templates …`: check, save, list, show and preview email templates (docs/templates.md). */
export function registerTemplates(program: Command): void {
  const templates = program
    .command("templates")
    .description("email templates: subject, HTML and text in Liquid (docs/templates.md)");

  templates
    .command("check")
    .description("validate a template YAML file locally; every error with its line")
    .argument("<file>", "template YAML")
    .action((file: string) => {
      const spec = loadTemplate(readText(file), file);
      process.stdout.write(
        `${file}: ok (template ${spec.id})\nvariables: ${variablesLine(templateVariables(spec))}\n`,
      );
    });

  templates
    .command("save")
    .description("store a template file as the next version of its id (talks to the API)")
    .argument("<file>", "template YAML")
    .action(async (file: string) => {
      const source = readText(file);
      loadTemplate(source, file);
      await withClient(async (client) => {
        const t = await client.call<Stored>("POST", "/api/templates", { source });
        process.stdout.write(`saved template ${t.id} version ${t.version}\n`);
      });
    });

  templates
    .command("list")
    .description("list templates: the latest version of each")
    .option("--json", "print JSON")
    .action(async (o: { json?: boolean }) => {
      await withClient(async (client) => {
        const list = await client.call<Summary[]>("GET", "/api/templates");
        if (o.json) return printJson(list);
        for (const t of list)
          process.stdout.write(
            `${t.id}  v${t.version} (${t.versions === 1 ? "1 version" : `${t.versions} versions`})  ${t.subject}\n`,
          );
        if (list.length === 0) process.stdout.write("no templates yet: qualify templates save <file>\n");
      });
    });

  templates
    .command("show")
    .description("print a template's YAML: the latest version, or the one given")
    .argument("<id>", "template id")
    // Not `--version`: the program's own --version would answer it.
    .argument("[version]", "a version number")
    .action(async (id: string, version: string | undefined) => {
      await withClient(async (client) => {
        const path = version
          ? `/api/templates/${enc(id)}/versions/${enc(version)}`
          : `/api/templates/${enc(id)}`;
        const t = await client.call<Stored>("GET", path);
        process.stdout.write(
          `# template ${t.id} v${t.version}, ${t.createdAt}${t.createdBy ? ` by ${t.createdBy}` : ""}\n` +
            `# variables: ${variablesLine(t.variables)}\n${t.source}`,
        );
      });
    });

  templates
    .command("preview")
    .description("render a template for a lead (or with no traits at all), without sending it")
    .argument("<id>", "template id")
    .argument("[version]", "a version number (default: the latest)")
    .option("--lead <leadId>", "the lead whose traits and account fill it")
    .option("--json", "print JSON")
    .action(async (id: string, version: string | undefined, o: { lead?: string; json?: boolean }) => {
      await withClient(async (client) => {
        const r = await client.call<{ version: number; subject: string; html: string; text: string }>(
          "POST",
          `/api/templates/${enc(id)}/preview`,
          { ...(o.lead ? { leadId: o.lead } : {}), ...(version ? { version: Number(version) } : {}) },
        );
        if (o.json) return printJson(r);
        process.stdout.write(
          `Subject: ${r.subject}\n\n--- html (v${r.version}) ---\n${r.html.trimEnd()}\n\n--- text ---\n${r.text.trimEnd()}\n`,
        );
      });
    });
}
