import { execFile, execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./qualify-process.js";

/**
 * A PostgreSQL server of a test's own, to stop and start at will: initdb into a temporary
 * directory, listening on a free port on 127.0.0.1 (its unix socket in that directory too), trust
 * auth. PostgreSQL refuses to run as root, so under root its binaries run as the `postgres` user.
 */

const run = promisify(execFile);
const ROOT = "/usr/lib/postgresql";

/** The newest installed PostgreSQL's bin directory, or null when there is none. */
export function postgresBinDir(): string | null {
  if (!existsSync(ROOT)) return null;
  const versions = readdirSync(ROOT)
    .filter((v) => existsSync(join(ROOT, v, "bin", "pg_ctl")) && existsSync(join(ROOT, v, "bin", "initdb")))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  return versions[0] === undefined ? null : join(ROOT, versions[0], "bin");
}

export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  port: number;
  dir: string;
  running(): boolean;
  /** `pg_ctl start`, waiting until it accepts connections. */
  start(): Promise<void>;
  /** `pg_ctl stop`: `fast` ends sessions and shuts down cleanly; `immediate` is a crash. */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  /** The server log so far, for failure messages. */
  log(): string;
  /** Stops the server if it runs and removes the directory; never throws. */
  dispose(): Promise<void>;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error(`no PostgreSQL binaries under ${ROOT}`);
  const dir = mkdtempSync(join(tmpdir(), "qualify-pg-"));
  const data = join(dir, "data");
  const logFile = join(dir, "server.log");
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(dir, uid, gid);
  }
  const pg = async (tool: string, args: string[]) => {
    const [file, argv] = asRoot
      ? ["runuser", ["-u", "postgres", "--", join(bin, tool), ...args]]
      : [join(bin, tool), args];
    // cwd: a directory the postgres user can enter. -l sends the server's output to the log, so
    // pg_ctl returns once the server is up instead of holding our pipes.
    await run(file, argv, { cwd: dir, timeout: 120_000, env: { PATH: process.env.PATH ?? "", LANG: "C" } });
  };
  const port = await freePort();
  let up = false;
  const server: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    running: () => up,
    async start() {
      const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=40 -c shared_buffers=16MB`;
      await pg("pg_ctl", ["start", "-D", data, "-l", logFile, "-w", "-t", "120", "-o", opts]);
      up = true;
    },
    async stop(mode = "fast") {
      await pg("pg_ctl", ["stop", "-D", data, "-m", mode, "-w", "-t", "120"]);
      up = false;
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : ""),
    async dispose() {
      if (existsSync(join(data, "postmaster.pid")))
        await pg("pg_ctl", ["stop", "-D", data, "-m", "immediate", "-w", "-t", "60"]).catch(() => undefined);
      up = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await pg("initdb", [
      "-D",
      data,
      "-U",
      "postgres",
      "-A",
      "trust",
      "-E",
      "UTF8",
      "--locale=C",
      "--no-sync",
    ]);
    await server.start();
  } catch (e) {
    await server.dispose();
    throw new Error(`private PostgreSQL did not start: ${(e as Error).message}\n${server.log()}`);
  }
  return server;
}
