import { PGlite } from "@electric-sql/pglite";
import type { Database, Queryable } from "./database.js";
import { syncWal } from "./sync-wal.js";

/**
 * One turn of the event loop. PGlite runs on this thread and its statements continue in
 * microtasks, so a busy pipeline or scheduler would never let the loop reach I/O: HTTP requests
 * would wait unread and webhook answers unseen. A turn before each statement lets them in.
 */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

function wrap(db: Pick<PGlite, "query" | "exec">): Queryable {
  return {
    async query<T>(sql: string, params?: unknown[]) {
      await turn();
      return (await db.query<T>(sql, params)).rows;
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
  };
}

/** PGlite in a data directory, or in memory; or loaded from a dump (tests clone a template). */
export async function openPglite(
  options: { dataDir?: string; loadDataDir?: Blob } = {},
): Promise<Database & { pglite: PGlite }> {
  // bigint columns hold epoch milliseconds, well inside a double: read them as numbers.
  const pglite = await PGlite.create({ ...options, parsers: { 20: Number } });
  const dataDir = options.dataDir;
  return {
    kind: "pglite",
    pglite,
    ...wrap(pglite),
    async transaction(fn) {
      await turn();
      return pglite.transaction((tx) => fn(wrap(tx)));
    },
    async sync() {
      await pglite.syncToFs();
      if (dataDir) await syncWal(dataDir);
    },
    close: () => pglite.close(),
  };
}
