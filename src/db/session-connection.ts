import pg from "pg";
import type { Queryable } from "./database.js";

/**
 * One PostgreSQL connection of its own, outside the pool, for session-level advisory locks: they
 * last as long as the connection, so when the process dies (even by `kill -9`) the server drops
 * the connection and the locks with it, and other processes can take them at once.
 */
export interface SessionConnection extends Queryable {
  /** False once the connection failed; its locks are gone. */
  readonly alive: boolean;
  close(): Promise<void>;
}

export async function openSessionConnection(
  connectionString: string,
  connectTimeoutMs: number,
): Promise<SessionConnection> {
  const client = new pg.Client({
    connectionString,
    connectionTimeoutMillis: connectTimeoutMs,
    // A dead peer is noticed within seconds even when nothing is being sent.
    keepAlive: true,
    keepAliveInitialDelayMillis: 1_000,
    application_name: "qualify-leases",
  });
  let alive = true;
  client.on("error", () => {
    alive = false;
  });
  client.on("end", () => {
    alive = false;
  });
  await client.connect();
  return {
    get alive() {
      return alive;
    },
    async query<T>(sql: string, params?: unknown[]) {
      try {
        return (await client.query(sql, params as unknown[])).rows as T[];
      } catch (e) {
        // A failed query on a broken connection means the locks are gone too.
        if (!(e as { code?: string }).code) alive = false;
        throw e;
      }
    },
    async exec(sql: string) {
      await client.query(sql);
    },
    async close() {
      alive = false;
      await client.end().catch(() => undefined);
    },
  };
}
