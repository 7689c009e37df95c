import type { Command } from "commander";
import { QualifyError } from "../../errors.js";
import type { ApiClient } from "../api-client.js";
import { printJson, withClient } from "../with-client.js";

interface LeadItem {
  id: string;
  userId: string | null;
  email: string | null;
  stage: string;
  scores: Record<string, number>;
  grade: string | null;
  mqlAt: string | null;
}

interface Contribution {
  group: string;
  rule: string;
  kind: string;
  label?: string;
  eventId?: string;
  at?: string;
  raw: number;
  factor: number;
  points: number;
}

const scoresText = (s: Record<string, number>) =>
  Object.entries(s)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");

/** A lead id, or a userId or email that names one. */
async function resolveLeadId(client: ApiClient, ref: string): Promise<string> {
  for (const key of ["userId", "email"] as const) {
    const found = await client.call<{ items: LeadItem[] }>(
      "GET",
      `/api/leads?${key}=${encodeURIComponent(ref)}&limit=1`,
    );
    if (found.items[0]) return found.items[0].id;
  }
  return ref;
}

export function registerLeads(program: Command): void {
  program
    .command("leads")
    .description("list leads, filtered and sorted (talks to the API)")
    .option("--stage <stages>", "comma-separated stages, e.g. mql,sal")
    .option("--grade <grades>", "comma-separated grades")
    .option("--q <text>", "text in email or name")
    .option("--min-score <n>", "minimum score (of --score, default engagement)")
    .option("--score <group>", "score group for --min-score and --sort score")
    .option(
      "--sort <field>",
      "lastEventAt, firstSeenAt, mqlAt or score; prefix - for descending",
      "-lastEventAt",
    )
    .option("--limit <n>", "how many", "50")
    .option("--json", "print JSON")
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const q = new URLSearchParams();
      const map: [string, string][] = [
        ["stage", "stage"],
        ["grade", "grade"],
        ["q", "q"],
        ["minScore", "minScore"],
        ["score", "score"],
        ["sort", "sort"],
        ["limit", "limit"],
      ];
      for (const [opt, param] of map) if (typeof o[opt] === "string") q.set(param, o[opt] as string);
      await withClient(async (client) => {
        const page = await client.call<{ items: LeadItem[]; nextCursor: string | null }>(
          "GET",
          `/api/leads?${q}`,
        );
        if (o.json) return printJson(page);
        for (const l of page.items)
          process.stdout.write(
            `${l.id}  ${(l.email ?? l.userId ?? "(anonymous)").padEnd(32)} ${l.stage.padEnd(12)} ${l.grade ?? "-"}  ${scoresText(l.scores)}${l.mqlAt ? `  MQL ${l.mqlAt}` : ""}\n`,
          );
        if (page.items.length === 0) process.stdout.write("no leads\n");
      });
    });

  const lead = program
    .command("lead")
    .description("show one lead by id, userId or email; --explain shows every point and why it qualified")
    .argument("<ref>", "lead id, userId or email")
    .option("--explain", "every contribution and the qualification reason")
    .option("--at <time>", "explain as of this ISO-8601 time")
    .option("--json", "print JSON")
    .action(async (ref: string, o: { explain?: boolean; at?: string; json?: boolean }) => {
      await withClient(async (client) => {
        const id = await resolveLeadId(client, ref);
        const detail = await client.call<
          LeadItem & {
            history: { from: string; to: string; at: string; reason: string; actor: string }[];
            anonymousIds: string[];
            account: unknown;
          }
        >("GET", `/api/leads/${encodeURIComponent(id)}`);
        if (!o.explain) {
          if (o.json) return printJson(detail);
          process.stdout.write(`Lead ${detail.id} (${detail.email ?? detail.userId ?? "anonymous"})\n`);
          process.stdout.write(
            `  stage ${detail.stage}, grade ${detail.grade ?? "-"}, ${scoresText(detail.scores)}\n`,
          );
          for (const h of detail.history)
            process.stdout.write(`  ${h.at}  ${h.from} → ${h.to}  (${h.actor}) ${h.reason}\n`);
          return;
        }
        const at = o.at === undefined ? "" : `?at=${encodeURIComponent(o.at)}`;
        const e = await client.call<{
          at: string;
          model: string;
          stage: string;
          scores: Record<string, number>;
          grade: string;
          qualification: { status: string; reason: string };
          contributions: Contribution[];
        }>("GET", `/api/leads/${encodeURIComponent(id)}/explain${at}`);
        if (o.json) return printJson(e);
        const out = process.stdout;
        out.write(
          `Lead ${id} (${detail.email ?? detail.userId ?? "anonymous"}) as of ${e.at}, model ${e.model}\n`,
        );
        out.write(`  stage ${e.stage}, grade ${e.grade}, ${scoresText(e.scores)}\n`);
        out.write(`  ${e.qualification.status}: ${e.qualification.reason}\n`);
        const groups = [...new Set(e.contributions.map((c) => c.group))];
        for (const g of groups) {
          out.write(`  ${g}:\n`);
          for (const c of e.contributions.filter((x) => x.group === g)) {
            const what =
              c.kind === "event"
                ? `event ${c.eventId ?? ""} at ${c.at ?? ""}`
                : c.kind === "cap"
                  ? "cap"
                  : `traits${c.label ? ` (${c.label})` : ""}`;
            const factor = c.factor > 0.9995 ? "" : ` × ${c.factor.toFixed(3)}`;
            out.write(
              `    ${c.points >= 0 ? "+" : ""}${c.points.toFixed(2).padStart(7)}  ${c.rule}: ${c.raw}${factor}  ${what}\n`,
            );
          }
        }
      });
    });

  lead
    .command("erase")
    .description("erase a lead (GDPR): its events, traits and state; hashed tombstones stop it coming back")
    .argument("<ref>", "lead id, userId or email")
    .option("--yes", "do not ask")
    .action(async (ref: string, o: { yes?: boolean }) => {
      if (!o.yes)
        throw new QualifyError("INPUT_INVALID", "erasing cannot be undone: add --yes to confirm", [
          { path: "--yes", message: "required" },
        ]);
      await withClient(async (client) => {
        const id = await resolveLeadId(client, ref);
        const r = await client.call<{ erased: string[]; eventsDeleted: number; transitionsDeleted: number }>(
          "DELETE",
          `/api/leads/${encodeURIComponent(id)}`,
        );
        process.stdout.write(
          `erased ${r.erased.join(", ")}: ${r.eventsDeleted} events, ${r.transitionsDeleted} transitions\n`,
        );
      });
    });
}
