import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

/**
 * A free TCP port on 127.0.0.1 (free when asked; a server started right after takes it), drawn
 * below Linux's ephemeral range (32768–60999): a port the kernel handed out was sometimes taken,
 * before the server bound it, by an outgoing connection of another test (EADDRINUSE in CI).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canListen(port)) return port;
    if (attempt >= 100) throw new Error("no free port found in 20000–31999");
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** `qualify start` (the real CLI, `bin/qualify.js`) running in a child process. */
export interface QualifyProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  stdout(): string;
  stderr(): string;
  /** Set once the process has exited. */
  exit(): Exit | null;
  exited: Promise<Exit>;
  /** Resolves when stdout matches; rejects when the process exits first or the time is up. */
  waitForOutput(re: RegExp, timeoutMs: number): Promise<void>;
  /** SIGKILL, then wait for the exit. */
  kill9(): Promise<Exit>;
  /** SIGTERM (graceful stop); SIGKILL when it has not exited within `timeoutMs`. */
  stop(timeoutMs?: number): Promise<Exit>;
}

/**
 * The environment every child `qualify` gets besides what a test passes: nothing from the test
 * run's own (DATABASE_URL, say) leaks in. Progress bars draw only on a terminal; NO_COLOR keeps
 * colours out of the output too.
 */
export const baseEnv = (): Record<string, string> => ({
  PATH: process.env.PATH ?? "",
  HOME: process.env.HOME ?? "",
  NO_COLOR: "1",
});

/**
 * Starts `node bin/qualify.js start` with only the environment given (plus `baseEnv`, and HOST
 * 127.0.0.1 unless given). The one way tests start the server as a child process: crash-recovery
 * uses it directly, `startLiveServer` (live-cli.ts) on top of it.
 */
export function spawnQualify(
  env: Record<string, string>,
  args: string[] = [],
  command: "start" | "worker" = "start",
): QualifyProcess {
  const child = spawn(process.execPath, ["bin/qualify.js", command, ...args], {
    cwd: process.cwd(),
    env: { ...baseEnv(), HOST: "127.0.0.1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  let exit: Exit | null = null;
  const listeners = new Set<() => void>();
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    out += d;
    for (const l of listeners) l();
  });
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    err += d;
  });
  const exited = new Promise<Exit>((resolve) => {
    child.on("exit", (code, signal) => {
      exit = { code, signal };
      for (const l of listeners) l();
      resolve(exit);
    });
  });
  const port = env.PORT ?? "3000";
  const proc: QualifyProcess = {
    child,
    pid: child.pid as number,
    url: `http://127.0.0.1:${port}`,
    stdout: () => out,
    stderr: () => err,
    exit: () => exit,
    exited,
    waitForOutput(re, timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (re.test(out)) return done(null);
          if (exit)
            return done(
              new Error(`qualify exited (${JSON.stringify(exit)}) before ${re}:\n${out}\n${err}`.trim()),
            );
        };
        const timer = setTimeout(
          () => done(new Error(`no ${re} within ${timeoutMs} ms:\n${out}\n${err}`.trim())),
          timeoutMs,
        );
        const done = (e: Error | null) => {
          clearTimeout(timer);
          listeners.delete(check);
          if (e) reject(e);
          else resolve();
        };
        listeners.add(check);
        check();
      });
    },
    async kill9() {
      if (!exit) child.kill("SIGKILL");
      return exited;
    },
    async stop(timeoutMs = 30_000) {
      if (exit) return exit;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const e = await exited;
      clearTimeout(timer);
      return e;
    },
  };
  return proc;
}

/** Polls `GET url` until it answers 200, or fails after `timeoutMs`. */
export async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.text();
      if (res.status === 200) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
