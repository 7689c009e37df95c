import { execFileSync } from "node:child_process";

/** Vitest global setup: the CLI tests run the real `bin/qualify.js`, so build dist/ first. */
export default function setup(): void {
  execFileSync("npm", ["run", "--silent", "build"], { stdio: "inherit" });
}
