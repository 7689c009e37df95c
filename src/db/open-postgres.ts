import pg from "pg";
import type { Database, Queryable } from "./database.js";

/** PostgreSQL through a node-postgres pool. */
export function openPostgres(connectionString: string, max = 10): Database {
  // bigint columns hold epoch milliseconds, well inside a double: read them as numbers.
  const types = {
    getTypeParser: (oid: number, format?: "text" | "binary") =>
      oid === 20 ? Number : pg.types.getTypeParser(oid, format),
  } as pg.CustomTypesConfig;
  const pool = new pg.Pool({ connectionString, max, types });
  // An idle connection that fails (server restart, backend terminated) is dropped by the pool and
  // replaced by the next query; without a listener its error would crash the process.
  pool.on("error", () => undefined);
  const on = (c: pg.Pool | pg.PoolClient): Queryable => ({
    async query<T>(sql: string, params?: unknown[]) {
      return (await c.query(sql, params as unknown[])).rows as T[];
    },
    async exec(sql: string) {
      await c.query(sql);
    },
  });
  return {
    kind: "postgres",
    ...on(pool),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query("begin");
        const result = await fn(on(client));
        await client.query("commit");
        return result;
      } catch (e) {
        await client.query("rollback").catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
    },
    sync: async () => undefined,
    close: () => pool.end(),
  };
}
