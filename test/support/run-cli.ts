import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Runs the real CLI (`bin/qualify.js`) as a user would, in a child process. */
export function runCli(args: string[]) {
  const r = spawnSync(process.execPath, ["bin/qualify.js", ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Writes files into a fresh temporary folder and returns their paths. */
export function tempFiles(files: Record<string, string>): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), "qualify-test-"));
  const out: Record<string, string> = {};
  for (const [name, text] of Object.entries(files)) {
    out[name] = join(dir, name);
    writeFileSync(out[name], text);
  }
  return out;
}

export const ndjson = (rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`;
