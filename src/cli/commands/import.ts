import type { Command } from "commander";
import type { ApiClient } from "../api-client.js";
import { progressBar } from "../progress.js";
import { readText } from "../read-files.js";
import { withClient } from "../with-client.js";
import { registerImportLeads } from "./import-leads.js";

const CHUNK = 2000;

export interface Rejected {
  line: number;
  field: string;
  reason: string;
}

export interface Upload {
  accepted: number;
  duplicates: number;
  rejected: Rejected[];
  lastSeq: number;
}

/** Posts Segment calls (NDJSON lines; `lineOf(i)`: the file line of line i) in chunks, with a progress bar. */
export async function uploadLines(
  client: ApiClient,
  lines: readonly string[],
  o: { notify: boolean; lineOf?: (i: number) => number },
): Promise<Upload> {
  const out: Upload = { accepted: 0, duplicates: 0, rejected: [], lastSeq: 0 };
  const bar = progressBar("import", lines.length);
  for (let start = 0; start < lines.length; start += CHUNK) {
    const r = await client.call<Omit<Upload, "lastSeq"> & { lastSeq: number | null }>("POST", "/api/import", {
      lines: lines.slice(start, start + CHUNK),
      firstLine: start + 1,
      notify: o.notify,
    });
    out.accepted += r.accepted;
    out.duplicates += r.duplicates;
    const lineOf = o.lineOf;
    out.rejected.push(...r.rejected.map((x) => (lineOf ? { ...x, line: lineOf(x.line - 1) } : x)));
    out.lastSeq = Math.max(out.lastSeq, r.lastSeq ?? 0);
    bar.update(Math.min(lines.length, start + CHUNK));
  }
  bar.stop();
  return out;
}

/** Waits, with a progress bar, until the pipeline has processed every event up to `lastSeq`. */
export async function waitForScoring(client: ApiClient, lastSeq: number): Promise<void> {
  // This import's events only, not whatever else the server is busy with.
  const pipeline = `/api/pipeline?through=${lastSeq}`;
  let status = await client.call<{ pending: number }>("GET", pipeline);
  const bar = progressBar("score ", status.pending);
  const total = status.pending;
  while (status.pending > 0) {
    await new Promise((r) => setTimeout(r, 200));
    status = await client.call<{ pending: number }>("GET", pipeline);
    bar.update(Math.max(0, total - status.pending));
  }
  bar.update(total);
  bar.stop();
}

export const printRejected = (file: string, rejected: readonly Rejected[]) => {
  for (const r of rejected) process.stderr.write(`${file}:${r.line}: ${r.field}: ${r.reason}\n`);
};

/** `qualify import FILE.ndjson`: history, in chunks, then waits until scoring has caught up. */
export function registerImport(program: Command): void {
  const command = program
    .command("import")
    .description("load history from NDJSON (one Segment call per line); reports each rejected line")
    .argument("<file>", "NDJSON file")
    .option("--notify", "send notifications (webhooks, emails) for the transitions the import makes")
    .action(async (file: string, o: { notify?: boolean }) => {
      const lines = readText(file).split("\n");
      if (lines[lines.length - 1] === "") lines.pop();
      await withClient(async (client) => {
        const up = await uploadLines(client, lines, { notify: o.notify === true });
        await waitForScoring(client, up.lastSeq);
        printRejected(file, up.rejected);
        process.stdout.write(
          `imported ${up.accepted} events from ${file} (${up.duplicates} duplicates skipped, ${up.rejected.length} lines rejected)\n`,
        );
        if (up.rejected.length > 0) process.exitCode = 1;
      });
    });
  registerImportLeads(command);
}
