/**
 * The one interface to the database, over embedded PGlite or PostgreSQL (node-postgres). The SQL
 * is the same on both; nothing outside `src/db` talks to a driver.
 */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: "pglite" | "postgres";
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Makes what was committed durable before it is acknowledged. PostgreSQL's commit already is;
   * PGlite's data directory is flushed to disk explicitly.
   */
  sync(): Promise<void>;
  close(): Promise<void>;
}
