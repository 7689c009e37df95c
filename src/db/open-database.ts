import type { Config } from "../config/load-config.js";
import { lockDataDir } from "./data-dir-lock.js";
import type { Database } from "./database.js";
import { migrate } from "./migrate.js";
import { openPglite } from "./open-pglite.js";
import { openPostgres } from "./open-postgres.js";

/**
 * The database the configuration names, migrated: PostgreSQL when DATABASE_URL is set, otherwise
 * PGlite in the data directory, held under its lock file until closed.
 */
export async function openDatabase(config: Config): Promise<Database> {
  if (config.databaseUrl) {
    const connectTimeoutMs = config.dbConnectTimeoutMs;
    // Migrations may run long (an index on a big table, or waiting for another process that
    // migrates): they get a connection of their own without the statement timeout.
    const migrator = openPostgres(config.databaseUrl, {
      poolSize: 1,
      statementTimeoutMs: 0,
      connectTimeoutMs,
    });
    try {
      await migrate(migrator);
    } finally {
      await migrator.close();
    }
    return openPostgres(config.databaseUrl, {
      poolSize: config.dbPoolSize,
      statementTimeoutMs: config.dbStatementTimeoutMs,
      connectTimeoutMs,
    });
  }
  const unlock = lockDataDir(config.dataDir);
  try {
    const db = await openPglite({ dataDir: config.dataDir });
    await migrate(db);
    return {
      ...db,
      close: async () => {
        await db.close();
        unlock();
      },
    };
  } catch (e) {
    unlock();
    throw e;
  }
}
