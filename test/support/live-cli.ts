import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { baseEnv, freePort, type QualifyProcess, spawnQualify } from "./qualify-process.js";

/**
 * A real `qualify start` in a child process on a data directory of its own (started through
 * `spawnQualify`), and the CLI run as a user would, each command a process of its own. The
 * environment is only what a test passes (and PATH/HOME), so a DATABASE_URL of the test run does not
 * leak into the CLI.
 */

export { freePort };

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `bin/qualify.js` with exactly `env` (plus PATH and HOME). Asynchronous, so that this process
 * keeps reading the server's output pipe while the command runs.
 */
export function qualify(args: string[], env: Record<string, string>, timeout = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["bin/qualify.js", ...args], {
      env: { ...baseEnv(), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString("utf8");
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString("utf8");
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeout);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface LiveServer {
  url: string;
  child: QualifyProcess["child"];
  /** Everything the server wrote so far: its stdout, then its stderr. */
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** The URL the lock file advertises, if any (it may be mid-write). */
function lockUrl(file: string): string | undefined {
  try {
    return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as { url?: string }).url : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `qualify start` and waits until /healthz answers and the lock file advertises the URL
 * (the first creation of a PGlite directory takes several seconds).
 */
export async function startLiveServer(env: Record<string, string>, timeoutMs = 90_000): Promise<LiveServer> {
  const proc = spawnQualify(env);
  const output = () => proc.stdout() + proc.stderr();
  const lock = env.QUALIFY_DATA_DIR ? join(env.QUALIFY_DATA_DIR, "qualify.lock") : null;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exit()) throw new Error(`qualify start exited early:\n${output()}`);
    if (Date.now() > deadline) {
      await proc.kill9();
      throw new Error(`qualify start did not become healthy within ${timeoutMs} ms:\n${output()}`);
    }
    const healthy = await fetch(`${proc.url}/healthz`)
      .then((r) => r.ok)
      .catch(() => false);
    const advertised = lock === null || lockUrl(lock) === proc.url;
    if (healthy && advertised) break;
    await sleep(100);
  }
  return {
    url: proc.url,
    child: proc.child,
    output,
    async stop() {
      return (await proc.stop()).code;
    },
  };
}

/** Waits until the server has processed every stored event. */
export async function waitForPipeline(url: string, token: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}/api/pipeline`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { pending?: number };
    if (res.ok && body.pending === 0) return;
    if (Date.now() > deadline) throw new Error(`events still pending after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/**
 * A live server on a fresh PGlite data directory of its own, with known credentials; `stop` stops it
 * and removes the directory. `env` is what a CLI process needs to find it (the data directory).
 */
export async function startServerInTempDir(
  prefix: string,
  credentials: { writeKey: string; adminToken: string },
  extraEnv: Record<string, string> = {},
): Promise<{ server: LiveServer; dataDir: string; env: Record<string, string>; stop(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const server = await startLiveServer({
    QUALIFY_DATA_DIR: dataDir,
    PORT: String(await freePort()),
    HOST: "127.0.0.1",
    QUALIFY_WRITE_KEY: credentials.writeKey,
    QUALIFY_ADMIN_TOKEN: credentials.adminToken,
    LOG_LEVEL: "info",
    ...extraEnv,
  });
  return {
    server,
    dataDir,
    env: { QUALIFY_DATA_DIR: dataDir },
    async stop() {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
