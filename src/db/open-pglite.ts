import { PGlite } from "@electric-sql/pglite";
import type { Database, Queryable } from "./database.js";
import { syncWal } from "./sync-wal.js";

function wrap(db: Pick<PGlite, "query" | "exec">): Queryable {
  return {
    async query<T>(sql: string, params?: unknown[]) {
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
    transaction: (fn) => pglite.transaction((tx) => fn(wrap(tx))),
    async sync() {
      await pglite.syncToFs();
      if (dataDir) await syncWal(dataDir);
    },
    close: () => pglite.close(),
  };
}
