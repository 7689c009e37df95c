import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { withDatabase } from "../src/db/database-url.js";

/** Real `qualify` processes for the service benchmarks, and a fresh database for them. */

export const WRITE_KEY = "wk_bench_0123456789abcdef";
export const ADMIN_TOKEN = "qlf_bench_admin_token_0123456789";

export interface Running {
  child: ChildProcess;
  stop(): Promise<void>;
}

/** The benchmark's own QUALIFY_* settings, for the services it starts (to measure a setting). */
export const qualifySettings = () =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("QUALIFY_")));
/** Node options for the processes it starts, from BENCH_NODE_ARGS (to profile them: `--cpu-prof`). */
const nodeArgs = () => (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter((a) => a !== "");

/**
 * A benchmark stopped early (Ctrl-C, a timeout) takes its servers with it: left running, they kept
 * retrying against a dropped database and took CPU from the next benchmark.
 */
const children = new Set<ChildProcess>();
let guarded = false;
/** On the first start: exit, Ctrl-C and SIGTERM kill the processes still running (128 + signal). */
function guardChildren(): void {
  if (guarded) return;
  guarded = true;
  const killChildren = () => {
    for (const c of children) c.kill("SIGKILL");
  };
  process.once("exit", killChildren);
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)
    process.once(signal, () => {
      killChildren();
      process.exit(code);
    });
}

/** Starts `qualify <command>` and resolves once its output says it is up. */
export function startQualify(command: "start" | "worker", env: Record<string, string>, args: string[] = []) {
  const child = spawn(process.execPath, [...nodeArgs(), "bin/qualify.js", command, ...args], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      ...qualifySettings(),
      QUALIFY_WRITE_KEY: WRITE_KEY,
      QUALIFY_ADMIN_TOKEN: ADMIN_TOKEN,
      ...env,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  guardChildren();
  children.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      children.delete(child);
      resolve();
    }),
  );
  return new Promise<Running>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`qualify ${command} did not start:\n${out}`)), 60_000);
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (/listening|processing/.test(out)) {
        clearTimeout(timer);
        resolve({
          child,
          async stop() {
            child.kill("SIGTERM");
            await exited;
          },
        });
      }
    });
    child.once("exit", (code) => reject(new Error(`qualify ${command} exited (${code}):\n${out}`)));
  });
}

/** A new empty database on the server of `base`; `drop` removes it. */
export async function freshDatabase(base: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `qualify_bench_${randomBytes(4).toString("hex")}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: base });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`create database ${name}`);
  return { url: withDatabase(base, name), drop: () => admin(`drop database if exists ${name} with (force)`) };
}
