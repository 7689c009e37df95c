import { open, readdir, stat } from "node:fs/promises";
import { join } from "node:path";

/**
 * PGlite writes through to the data directory's files but never asks the disk to flush them. A
 * commit is durable once its WAL record is: fdatasync the WAL segment written most recently (a
 * commit may span the end of one segment and the start of the next, so a segment written since the
 * previous sync is flushed too). The flush runs off the event loop, so that requests arriving
 * meanwhile gather for the next group commit.
 */
const lastSync = new Map<string, number>();

export async function syncWal(dataDir: string): Promise<void> {
  const wal = join(dataDir, "pg_wal");
  const since = (lastSync.get(dataDir) ?? 0) - 1000;
  lastSync.set(dataDir, Date.now());
  const names = (await readdir(wal)).filter((f) => /^[0-9A-F]{24}$/.test(f));
  const segments = (
    await Promise.all(names.map(async (f) => ({ f, mtime: (await stat(join(wal, f))).mtimeMs })))
  )
    .sort((a, b) => b.mtime - a.mtime || (a.f < b.f ? 1 : -1))
    .filter((seg, i) => i === 0 || seg.mtime >= since)
    .slice(0, 2);
  await Promise.all(
    segments.map(async ({ f }) => {
      const handle = await open(join(wal, f), "r+");
      try {
        await handle.datasync();
      } finally {
        await handle.close();
      }
    }),
  );
}
