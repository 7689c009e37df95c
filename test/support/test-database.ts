import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import pg from "pg";
import { inject } from "vitest";
import type { Database } from "../../src/db/database.js";
import { withDatabase } from "../../src/db/database-url.js";
import { openPglite } from "../../src/db/open-pglite.js";
import { openPostgres } from "../../src/db/open-postgres.js";

/** The databases a test runs against: PGlite always, PostgreSQL too when DATABASE_URL is set. */
export const DATABASE_KINDS: ("pglite" | "postgres")[] = process.env.DATABASE_URL
  ? ["pglite", "postgres"]
  : ["pglite"];

/** A fresh, migrated database of its own, cloned from the run's template, dropped on close. */
export async function openTestDatabase(kind: "pglite" | "postgres"): Promise<Database> {
  if (kind === "pglite") {
    const dump = new Blob([readFileSync(inject("pgliteTemplate"))]);
    return openPglite({ loadDataDir: dump });
  }
  const url = process.env.DATABASE_URL as string;
  const name = `qualify_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create database ${name} template ${inject("postgresTemplate")}`);
  await admin.end();
  const db = openPostgres(withDatabase(url, name), 4);
  return {
    ...db,
    close: async () => {
      await db.close();
      const drop = new pg.Client({ connectionString: url });
      await drop.connect();
      await drop.query(`drop database if exists ${name} with (force)`);
      await drop.end();
    },
  };
}
