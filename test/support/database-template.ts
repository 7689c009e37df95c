import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { withDatabase } from "../../src/db/database-url.js";
import { migrate } from "../../src/db/migrate.js";
import { openPglite } from "../../src/db/open-pglite.js";
import { openPostgres } from "../../src/db/open-postgres.js";

/**
 * Vitest global setup: migrate one template database per run. On PGlite it is dumped to a file that
 * each test file loads (a fresh data directory costs seconds); on PostgreSQL (DATABASE_URL set)
 * it is a database that each test file copies with `create database … template`.
 */
declare module "vitest" {
  export interface ProvidedContext {
    pgliteTemplate: string;
    postgresTemplate: string;
  }
}

export default async function setup({ provide }: { provide: (key: string, value: string) => void }) {
  const pglite = await openPglite();
  await migrate(pglite);
  const file = join(tmpdir(), `qualify-template-${process.pid}-${randomBytes(4).toString("hex")}.tar`);
  writeFileSync(file, Buffer.from(await (await pglite.pglite.dumpDataDir("none")).arrayBuffer()));
  await pglite.close();
  provide("pgliteTemplate", file);

  const url = process.env.DATABASE_URL;
  let template = "";
  if (url) {
    template = `qualify_template_${randomBytes(4).toString("hex")}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`create database ${template}`);
    await admin.end();
    const db = openPostgres(withDatabase(url, template), 1);
    await migrate(db);
    await db.close();
  }
  provide("postgresTemplate", template);

  return async () => {
    rmSync(file, { force: true });
    if (url && template) {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`drop database if exists ${template} with (force)`);
      await admin.end();
    }
  };
}
