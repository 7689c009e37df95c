#!/usr/bin/env node
// Thin shim: the CLI is compiled to dist/ by `npm run build`, which `npm ci` runs through `prepare`.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const entry = new URL("../dist/src/cli/main.js", import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write("qualify: the CLI is not built yet. Run `npm ci` (or `npm run build`) first.\n");
  process.exit(1);
}
await import(entry.href);
