import pg from "pg";
import type { Database, Queryable } from "./database.js";
import { type DatabaseLimits, databaseTimeout } from "./database-unavailable.js";

const DEFAULTS: DatabaseLimits = { poolSize: 10, statementTimeoutMs: 60_000, connectTimeoutMs: 5_000 };

/**
 * PostgreSQL through a node-postgres pool. `limits` (or just the pool size) default to those of
 * QUALIFY_DB_POOL_SIZE, QUALIFY_DB_STATEMENT_TIMEOUT_MS and QUALIFY_DB_CONNECT_TIMEOUT_MS; a
 * statement timeout of 0 leaves the server's own.
 */
export function openPostgres(
  connectionString: string,
  limits: Partial<DatabaseLimits> | number = {},
): Database {
  const l: DatabaseLimits = { ...DEFAULTS, ...(typeof limits === "number" ? { poolSize: limits } : limits) };
  // bigint columns hold epoch milliseconds, well inside a double: read them as numbers.
  const types = {
    getTypeParser: (oid: number, format?: "text" | "binary") =>
      oid === 20 ? Number : pg.types.getTypeParser(oid, format),
  } as pg.CustomTypesConfig;
  // Neither a dead server nor an exhausted pool may hang a request: connecting (or waiting for a
  // free connection) and each statement are bounded; a timeout becomes DATABASE_TIMEOUT (a 503).
  const pool = new pg.Pool({
    connectionString,
    max: l.poolSize,
    types,
    connectionTimeoutMillis: l.connectTimeoutMs,
    statement_timeout: l.statementTimeoutMs,
    idle_in_transaction_session_timeout: 60_000,
  });
  const guard = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (e) {
      throw databaseTimeout(e, l) ?? e;
    }
  };
  // An idle connection that fails (server restart, backend terminated) is dropped by the pool and
  // replaced by the next query; without a listener its error would crash the process.
  pool.on("error", () => undefined);
  const on = (c: pg.Pool | pg.PoolClient): Queryable => ({
    query: <T>(sql: string, params?: unknown[]) =>
      guard(async () => (await c.query(sql, params as unknown[])).rows as T[]),
    exec: (sql: string) => guard(async () => void (await c.query(sql))),
  });
  return {
    kind: "postgres",
    ...on(pool),
    async transaction(fn) {
      const client = await guard(() => pool.connect());
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
        throw databaseTimeout(e, l) ?? e;
      } finally {
        client.off("error", lost);
        client.release(broken);
      }
    },
    sync: async () => undefined,
    close: () => pool.end(),
  };
}
