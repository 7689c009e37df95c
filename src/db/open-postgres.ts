import pg from "pg";
import type { Database, Queryable } from "./database.js";

/** PostgreSQL through a node-postgres pool. */
export function openPostgres(connectionString: string, max = 10): Database {
  // bigint columns hold epoch milliseconds, well inside a double: read them as numbers.
  const types = {
    getTypeParser: (oid: number, format?: "text" | "binary") =>
      oid === 20 ? Number : pg.types.getTypeParser(oid, format),
  } as pg.CustomTypesConfig;
  // Neither a dead server nor an exhausted pool may hang a request: connecting waits at most 5 s,
  // and a statement at most 60 s (a model publish over many leads runs many short statements).
  const pool = new pg.Pool({
    connectionString,
    max,
    types,
    connectionTimeoutMillis: 5_000,
    statement_timeout: 60_000,
    idle_in_transaction_session_timeout: 60_000,
  });
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
      let broken = false;
      // A connection lost mid-transaction (server restart, terminated backend) emits an error on the
      // client; unheard, it would crash the process. The query in flight fails on its own.
      const lost = () => {
        broken = true;
      };
      client.on("error", lost);
      try {
        await client.query("begin");
        const result = await fn(on(client));
        await client.query("commit");
        return result;
      } catch (e) {
        // A connection that cannot even roll back is broken: drop it rather than pool it again.
        await client.query("rollback").catch(() => {
          broken = true;
        });
        throw e;
      } finally {
        client.off("error", lost);
        client.release(broken);
      }
    },
    sync: async () => undefined,
    close: () => pool.end(),
  };
}
