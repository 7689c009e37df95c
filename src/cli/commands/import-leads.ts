import { createHash } from "node:crypto";
import type { Command } from "commander";
import { parse } from "csv-parse/sync";
import { QualifyError } from "../../errors.js";
import {
  type ImportedLead,
  mapRow,
  nestTraits,
  parseLeadMapping,
  type RowError,
} from "../../lab/import/lead-mapping.js";
import { progressBar } from "../progress.js";
import { readText } from "../read-files.js";
import { withClient } from "../with-client.js";
import { printRejected, type Rejected, uploadLines, waitForScoring } from "./import.js";

const CHUNK = 2000;

/** The CSV's rows as leads (and the rows that are not), checked against the mapping. */
export function readLeadsCsv(file: string, mapFile: string): { leads: ImportedLead[]; rejected: RowError[] } {
  const mapping = parseLeadMapping(readText(mapFile), mapFile);
  const records = parse(readText(file), {
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
    info: true,
  }) as unknown as { record: string[]; info: { lines: number } }[];
  const [header, ...rows] = records;
  if (!header)
    throw new QualifyError("INPUT_INVALID", `${file}: no header row`, [{ path: file, message: "empty" }]);
  const headers = header.record.map((h) => h.trim());
  const unknown = Object.keys(mapping.columns).filter((c) => !headers.includes(c));
  if (unknown.length > 0)
    throw new QualifyError(
      "INPUT_INVALID",
      `${mapFile}: ${unknown.map((c) => `'${c}'`).join(", ")} not in ${file}'s header`,
      unknown.map((c) => ({ path: `columns.${c}`, message: `no such column in ${file}` })),
    );
  const leads: ImportedLead[] = [];
  const rejected: RowError[] = [];
  const seen = new Map<string, number>();
  for (const { record, info } of rows) {
    const r = mapRow(mapping, headers, record, info.lines);
    if ("reason" in r) rejected.push(r);
    else if (seen.has(r.userId))
      rejected.push({
        line: r.line,
        column: "(id)",
        reason: `'${r.userId}' is also on line ${seen.get(r.userId)}`,
      });
    else {
      seen.set(r.userId, r.line);
      leads.push(r);
    }
  }
  return { leads, rejected };
}

/** A lead as an identify call, its message id a hash of its content (importing it again is a duplicate). */
function identifyLine(lead: ImportedLead, now: number): string {
  const traits = { ...lead.traits, ...(lead.email === undefined ? {} : { email: lead.email }) };
  const hash = createHash("sha256")
    .update(JSON.stringify([lead.userId, traits]))
    .digest("hex")
    .slice(0, 24);
  return JSON.stringify({
    type: "identify",
    userId: lead.userId,
    traits: nestTraits(traits),
    timestamp: new Date(lead.createdAt ?? now).toISOString(),
    messageId: `lead-import:${hash}`,
  });
}

/** `qualify import leads FILE.csv --map mapping.yaml`: a CRM export as leads with traits, counts and outcomes. */
export function registerImportLeads(importCommand: Command): void {
  importCommand
    .command("leads")
    .description(
      "load a CRM export (CSV) as leads: traits, behaviour counts and outcomes, by a column mapping",
    )
    .argument("<file>", "CSV file with a header row")
    .requiredOption("--map <mapping>", "the column mapping (YAML; docs/model-lab.md)")
    .action(async (file: string, o: { map: string }) => {
      const { leads, rejected } = readLeadsCsv(file, o.map);
      await withClient(async (client) => {
        const now = Date.now();
        const up = await uploadLines(
          client,
          leads.map((l) => identifyLine(l, now)),
          { notify: false, lineOf: (i) => (leads[i] as ImportedLead).line },
        );
        await waitForScoring(client, up.lastSeq);
        const outcomes = leads.flatMap((l) =>
          l.outcomes.map((x) => ({
            line: l.line,
            userId: l.userId,
            outcome: x.outcome,
            at: x.at ?? undefined,
          })),
        );
        let recorded = 0;
        const refused: Rejected[] = [];
        const bar = progressBar("outcomes", outcomes.length);
        for (let start = 0; start < outcomes.length; start += CHUNK) {
          const r = await client.call<{ recorded: number; rejected: Rejected[] }>(
            "POST",
            "/api/import/outcomes",
            {
              outcomes: outcomes.slice(start, start + CHUNK),
            },
          );
          recorded += r.recorded;
          refused.push(...r.rejected);
          bar.update(Math.min(outcomes.length, start + CHUNK));
        }
        bar.stop();
        const bad = [
          ...rejected.map((r) => ({ line: r.line, field: r.column, reason: r.reason })),
          ...up.rejected,
          ...refused,
        ];
        printRejected(
          file,
          bad.sort((a, b) => a.line - b.line),
        );
        process.stdout.write(
          `imported ${up.accepted} leads from ${file} (${up.duplicates} unchanged, ${recorded} outcomes recorded, ${bad.length} rows rejected)\n`,
        );
        if (bad.length > 0) process.exitCode = 1;
      });
    });
}
