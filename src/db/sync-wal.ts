import { closeSync, fdatasyncSync, openSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * PGlite writes through to the data directory's files but never asks the disk to flush them. A
 * commit is durable once its WAL record is: fdatasync the WAL segments written most recently (a
 * commit may span the end of one segment and the start of the next).
 */
export function syncWal(dataDir: string): void {
  const wal = join(dataDir, "pg_wal");
  const segments = readdirSync(wal)
    .filter((f) => /^[0-9A-F]{24}$/.test(f))
    .map((f) => ({ f, mtime: statSync(join(wal, f)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime || (a.f < b.f ? 1 : -1))
    .slice(0, 2);
  for (const { f } of segments) {
    const fd = openSync(join(wal, f), "r+");
    try {
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}
