import type { Command } from "commander";
import { progressBar } from "../progress.js";
import { readText } from "../read-files.js";
import { withClient } from "../with-client.js";

const CHUNK = 2000;

/** `qualify import FILE.ndjson`: history, in chunks, then waits until scoring has caught up. */
export function registerImport(program: Command): void {
  program
    .command("import")
    .description("load history from NDJSON (one Segment call per line); reports each rejected line")
    .argument("<file>", "NDJSON file")
    .option("--notify", "send notifications (webhooks, emails) for the transitions the import makes")
    .action(async (file: string, o: { notify?: boolean }) => {
      const lines = readText(file).split("\n");
      if (lines[lines.length - 1] === "") lines.pop();
      await withClient(async (client) => {
        let accepted = 0;
        let duplicates = 0;
        const rejected: { line: number; field: string; reason: string }[] = [];
        let lastSeq = 0;
        const upload = progressBar("import", lines.length);
        for (let start = 0; start < lines.length; start += CHUNK) {
          const r = await client.call<{
            accepted: number;
            duplicates: number;
            rejected: typeof rejected;
            lastSeq: number | null;
          }>("POST", "/api/import", {
            lines: lines.slice(start, start + CHUNK),
            firstLine: start + 1,
            notify: o.notify === true,
          });
          accepted += r.accepted;
          duplicates += r.duplicates;
          rejected.push(...r.rejected);
          lastSeq = Math.max(lastSeq, r.lastSeq ?? 0);
          upload.update(Math.min(lines.length, start + CHUNK));
        }
        upload.stop();
        // Wait for this import's events only, not for whatever else the server is busy with.
        const pipeline = `/api/pipeline?through=${lastSeq}`;
        let status = await client.call<{ pending: number }>("GET", pipeline);
        const scoring = progressBar("score ", status.pending);
        const total = status.pending;
        while (status.pending > 0) {
          await new Promise((r) => setTimeout(r, 200));
          status = await client.call<{ pending: number }>("GET", pipeline);
          scoring.update(Math.max(0, total - status.pending));
        }
        scoring.update(total);
        scoring.stop();
        for (const r of rejected) process.stderr.write(`${file}:${r.line}: ${r.field}: ${r.reason}\n`);
        process.stdout.write(
          `imported ${accepted} events from ${file} (${duplicates} duplicates skipped, ${rejected.length} lines rejected)\n`,
        );
        if (rejected.length > 0) process.exitCode = 1;
      });
    });
}
