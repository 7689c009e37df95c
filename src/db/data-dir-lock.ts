import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { QualifyError } from "../errors.js";

/**
 * PGlite takes no lock of its own, and two processes opening one data directory corrupt it. The
 * process that opens it holds `qualify.lock`, which names its PID; a stale lock (its process gone)
 * is taken over.
 */
export const LOCK_FILE = "qualify.lock";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function lockDataDir(dataDir: string, pid = process.pid): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${JSON.stringify({ pid, since: new Date().toISOString() })}\n`, { flag: "wx" });
      return () => rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      let holder: number | undefined;
      try {
        holder = (JSON.parse(readFileSync(file, "utf8")) as { pid?: number }).pid;
      } catch {
        holder = undefined;
      }
      if (holder !== undefined && holder !== pid && alive(holder)) {
        throw new QualifyError(
          "DATABASE_LOCKED",
          `${dataDir} is in use by process ${holder}; stop it, or talk to it through its API (QUALIFY_URL)`,
        );
      }
      rmSync(file, { force: true });
    }
  }
  throw new QualifyError("DATABASE_LOCKED", `${dataDir}: could not take ${LOCK_FILE}`);
}

/** What the lock file says: the holder's PID and, once it serves, its URL and a local admin token. */
export interface LockInfo {
  pid: number;
  since: string;
  url?: string;
  token?: string;
}

/** Adds the server's URL and local token to the lock it holds; readable by the owner only. */
export function advertiseLock(dataDir: string, info: { url: string; token: string }): void {
  const file = join(dataDir, LOCK_FILE);
  const current = JSON.parse(readFileSync(file, "utf8")) as LockInfo;
  // Owner-only before the token is written: `mode` applies only to a new file, and this one exists.
  chmodSync(file, 0o600);
  writeFileSync(file, `${JSON.stringify({ ...current, ...info })}\n`, { mode: 0o600 });
}

/** The lock's holder when it is a live process, else null. */
export function lockHolder(dataDir: string): LockInfo | null {
  try {
    const info = JSON.parse(readFileSync(join(dataDir, LOCK_FILE), "utf8")) as LockInfo;
    return typeof info.pid === "number" && info.pid !== process.pid && alive(info.pid) ? info : null;
  } catch {
    return null;
  }
}
