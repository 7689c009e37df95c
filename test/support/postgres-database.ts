import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import { withDatabase } from "../../src/db/database-url.js";

/**
 * A fresh PostgreSQL database of its own, cloned from the run's migrated template, for tests that
 * start `qualify` processes against it (DATABASE_URL must be set). `drop` removes it.
 */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const server = process.env.DATABASE_URL as string;
  const name = `qualify_test_${randomBytes(6).toString("hex")}`;
  await onServer(server, `create database ${name} template ${inject("postgresTemplate")}`);
  return {
    url: withDatabase(server, name),
    drop: () => onServer(server, `drop database if exists ${name} with (force)`),
  };
}

async function onServer(url: string, sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}
