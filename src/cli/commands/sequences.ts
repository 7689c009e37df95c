import type { Command } from "commander";
import { loadSequence } from "../../nurture/sequence-spec.js";
import { readText } from "../read-files.js";
import { printJson, withClient } from "../with-client.js";

interface Version {
  id: string;
  version: number;
  active: boolean;
  activatedAt: string | null;
  createdAt: string;
  createdBy: string | null;
  source: string;
}

interface Enrollment {
  id: string;
  leadId: string;
  status: string;
  step: string | null;
  nextRunAt: string | null;
  enteredAt: string;
  exitReason: string | null;
}

/** `qualify sequences …`: check, save, run, pause and inspect nurture sequences (docs/nurture.md). */
export function registerSequences(program: Command): void {
  const seq = program
    .command("sequences")
    .description("nurture sequences: entry, steps, exits (docs/nurture.md)");

  seq
    .command("check")
    .description(
      "validate a sequence YAML file locally (templates are checked when it is saved); every error with its line",
    )
    .argument("<file>", "sequence YAML")
    .action((file: string) => {
      const s = loadSequence(readText(file), file);
      process.stdout.write(`${file}: ok (sequence ${s.id}, ${s.steps.length} steps)\n`);
    });

  seq
    .command("save")
    .description("store a sequence file as a new version and run it (its templates must exist)")
    .argument("<file>", "sequence YAML")
    .option("--inactive", "store it without running it")
    .action(async (file: string, o: { inactive?: boolean }) => {
      const source = readText(file);
      loadSequence(source, file);
      await withClient(async (client) => {
        const v = await client.call<Version>("POST", "/api/sequences", { source, activate: !o.inactive });
        process.stdout.write(`saved sequence ${v.id} version ${v.version}${v.active ? " (running)" : ""}\n`);
      });
    });

  seq
    .command("list")
    .description("sequences, with whether each runs")
    .option("--json", "print JSON")
    .action(async (o: { json?: boolean }) => {
      await withClient(async (client) => {
        const list = await client.call<(Version & { running: boolean })[]>("GET", "/api/sequences");
        if (o.json) return printJson(list.map(({ source: _, ...v }) => v));
        for (const v of list)
          process.stdout.write(`${v.id}  v${v.version}  ${v.running ? "running" : "paused"}\n`);
        if (list.length === 0) process.stdout.write("no sequences yet: qualify sequences save <file>\n");
      });
    });

  seq
    .command("show")
    .description("a sequence's versions, enrollments by status, active enrollments by step, emails by step")
    .argument("<id>", "sequence id")
    .option("--json", "print JSON")
    .action(async (id: string, o: { json?: boolean }) => {
      await withClient(async (client) => {
        const s = await client.call<{
          running: boolean;
          versions: Version[];
          enrollments: Record<string, number>;
          activeByStep: Record<string, number>;
          emailsByStep: Record<string, Record<string, number>>;
        }>("GET", `/api/sequences/${encodeURIComponent(id)}`);
        if (o.json) return printJson(s);
        const active = s.versions.find((v) => v.active);
        process.stdout.write(
          `${id}: ${active ? `running v${active.version}` : "paused"}, ${s.versions.length} versions\n`,
        );
        process.stdout.write(
          `enrollments: ${Object.entries(s.enrollments)
            .map(([k, n]) => `${k} ${n}`)
            .join(", ")}\n`,
        );
        for (const [step, n] of Object.entries(s.activeByStep)) process.stdout.write(`  at ${step}: ${n}\n`);
        for (const [step, byStatus] of Object.entries(s.emailsByStep))
          process.stdout.write(
            `  emails of ${step}: ${Object.entries(byStatus)
              .map(([k, n]) => `${k} ${n}`)
              .join(", ")}\n`,
          );
      });
    });

  seq
    .command("enrollments")
    .description("a sequence's enrollments, newest first")
    .argument("<id>", "sequence id")
    .option("--status <status>", "active, completed or exited")
    .option("--limit <n>", "at most this many", "100")
    .option("--json", "print JSON")
    .action(async (id: string, o: { status?: string; limit: string; json?: boolean }) => {
      await withClient(async (client) => {
        const q = new URLSearchParams({ limit: o.limit, ...(o.status ? { status: o.status } : {}) });
        const { enrollments } = await client.call<{ enrollments: Enrollment[] }>(
          "GET",
          `/api/sequences/${encodeURIComponent(id)}/enrollments?${q}`,
        );
        if (o.json) return printJson(enrollments);
        for (const e of enrollments)
          process.stdout.write(
            `${e.leadId}  ${e.status}${e.step && e.status === "active" ? ` at ${e.step}, next ${e.nextRunAt}` : ""}${e.exitReason ? ` (${e.exitReason})` : ""}\n`,
          );
      });
    });

  seq
    .command("activate")
    .description("run a sequence (its latest version, or --version N); entries count from now")
    .argument("<id>", "sequence id")
    .option("--version <n>", "the version to run")
    .action(async (id: string, o: { version?: string }) => {
      await withClient(async (client) => {
        const v = await client.call<Version>("POST", `/api/sequences/${encodeURIComponent(id)}/activate`, {
          ...(o.version ? { version: Number(o.version) } : {}),
        });
        process.stdout.write(`${id}: running version ${v.version}\n`);
      });
    });

  seq
    .command("pause")
    .description("pause a sequence: no one enters, and enrollments hold until it runs again")
    .argument("<id>", "sequence id")
    .action(async (id: string) => {
      await withClient(async (client) => {
        await client.call("POST", `/api/sequences/${encodeURIComponent(id)}/pause`);
        process.stdout.write(`${id}: paused\n`);
      });
    });
}
