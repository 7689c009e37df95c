import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { QualifyError } from "../../errors.js";
import { parseSettings } from "../../nurture/nurture-settings.js";
import { readText } from "../read-files.js";
import { printJson, withClient } from "../with-client.js";

interface Attempt {
  id: string;
  leadId: string;
  to: string;
  sequence: string;
  step: string;
  status: string;
  createdAt: string;
  sentAt: string | null;
  lastError: string | null;
}

/**
 * `qualify nurture …`: the workspace's nurture settings, a lead's nurture state and consent, the
 * marketing emails (with those a crash left `unknown`), and the suppression list (docs/nurture.md).
 */
export function registerNurture(program: Command): void {
  const nurture = program
    .command("nurture")
    .description("nurture settings, email and consent (docs/nurture.md)");

  nurture
    .command("settings")
    .description("print the nurture settings, or replace them from a YAML or JSON file with --set")
    .option("--set <file>", "settings file (fields left out take their defaults)")
    .action(async (o: { set?: string }) => {
      const raw = o.set ? (parseYaml(readText(o.set)) as unknown) : undefined;
      if (raw !== undefined) parseSettings(raw);
      await withClient(async (client) => {
        printJson(await client.call(raw === undefined ? "GET" : "PUT", "/api/nurture/settings", raw));
      });
    });

  nurture
    .command("lead")
    .description("a lead's email standing, enrollments, emails and consent history")
    .argument("<leadId>", "lead id")
    .action(async (leadId: string) => {
      await withClient(async (client) =>
        printJson(await client.call("GET", `/api/leads/${encodeURIComponent(leadId)}/nurture`)),
      );
    });

  nurture
    .command("consent")
    .description("record a lead's email consent (a recorded change, source api)")
    .argument("<leadId>", "lead id")
    .option("--grant", "consent given")
    .option("--withdraw", "consent withdrawn")
    .action(async (leadId: string, o: { grant?: boolean; withdraw?: boolean }) => {
      if (Boolean(o.grant) === Boolean(o.withdraw))
        throw new QualifyError("INPUT_INVALID", "say either --grant or --withdraw", [
          { path: "--grant", message: "give exactly one of --grant and --withdraw" },
        ]);
      await withClient(async (client) =>
        printJson(
          await client.call("PUT", `/api/leads/${encodeURIComponent(leadId)}/email-consent`, {
            granted: Boolean(o.grant),
          }),
        ),
      );
    });

  nurture
    .command("emails")
    .description("marketing emails, newest first (--status unknown: those a crash left without an outcome)")
    .option("--status <status>", "queued, sending, sent, bounced, failed, unknown or suppressed")
    .option("--lead <leadId>", "one lead's")
    .option("--sequence <id>", "one sequence's")
    .option("--limit <n>", "at most this many", "100")
    .option("--json", "print JSON")
    .action(
      async (o: { status?: string; lead?: string; sequence?: string; limit: string; json?: boolean }) => {
        await withClient(async (client) => {
          const q = new URLSearchParams({ limit: o.limit });
          if (o.status) q.set("status", o.status);
          if (o.lead) q.set("lead", o.lead);
          if (o.sequence) q.set("sequence", o.sequence);
          const { attempts } = await client.call<{ attempts: Attempt[] }>("GET", `/api/email/attempts?${q}`);
          if (o.json) return printJson(attempts);
          for (const a of attempts)
            process.stdout.write(
              `${a.createdAt}  ${a.status.padEnd(10)} ${a.to}  ${a.sequence}/${a.step}${a.lastError ? `  (${a.lastError})` : ""}\n`,
            );
        });
      },
    );

  const sup = nurture.command("suppressions").description("addresses that get no marketing email");
  sup
    .command("list")
    .option("--json", "print JSON")
    .action(async (o: { json?: boolean }) => {
      await withClient(async (client) => {
        const { suppressions } = await client.call<{
          suppressions: { email: string; reason: string; at: string }[];
        }>("GET", "/api/email/suppressions");
        if (o.json) return printJson(suppressions);
        for (const s of suppressions) process.stdout.write(`${s.email}  ${s.reason}  ${s.at}\n`);
      });
    });
  sup
    .command("add")
    .description("suppress an address by hand")
    .argument("<email>")
    .option("--detail <text>", "why")
    .action(async (email: string, o: { detail?: string }) => {
      await withClient(async (client) => {
        await client.call("POST", "/api/email/suppressions", {
          email,
          ...(o.detail ? { detail: o.detail } : {}),
        });
        process.stdout.write(`${email}: suppressed\n`);
      });
    });
  sup
    .command("remove")
    .description("lift a suppression (admins only)")
    .argument("<email>")
    .action(async (email: string) => {
      await withClient(async (client) => {
        await client.call("DELETE", `/api/email/suppressions/${encodeURIComponent(email)}`);
        process.stdout.write(`${email}: no longer suppressed\n`);
      });
    });
}
