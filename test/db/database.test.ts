import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load-config.js";
import { LOCK_FILE, lockDataDir } from "../../src/db/data-dir-lock.js";
import type { Database } from "../../src/db/database.js";
import { MIGRATIONS, migrate } from "../../src/db/migrate.js";
import { openDatabase } from "../../src/db/open-database.js";
import { QualifyError } from "../../src/errors.js";
import { DATABASE_KINDS, openTestDatabase } from "../support/test-database.js";

describe.each(DATABASE_KINDS)("database on %s", (kind) => {
  const opened: Database[] = [];
  const open = async () => {
    const db = await openTestDatabase(kind);
    opened.push(db);
    return db;
  };
  afterAll(async () => {
    for (const db of opened) await db.close();
  });

  it("starts migrated, with the default workspace", async () => {
    const db = await open();
    expect(await db.query("select id from qualify_migrations order by id")).toEqual(
      MIGRATIONS.map((m) => ({ id: m.id })),
    );
    expect(await db.query("select id, name from workspaces")).toEqual([
      { id: "default", name: "Default workspace" },
    ]);
  });

  it("applies each migration once", async () => {
    const db = await open();
    expect(await migrate(db)).toEqual([]);
    expect(await db.query("select count(*)::int as n from workspaces")).toEqual([{ n: 1 }]);
  });

  it("rolls a failed transaction back", async () => {
    const db = await open();
    await expect(
      db.transaction(async (tx) => {
        await tx.query("insert into workspaces (id, name) values ($1, $2)", ["w2", "Second"]);
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await db.query("select id from workspaces order by id")).toEqual([{ id: "default" }]);
  });

  it("gives each test database its own data", async () => {
    const a = await open();
    const b = await open();
    await a.query("insert into workspaces (id, name) values ('only-a', 'A')");
    expect(await b.query("select id from workspaces where id = 'only-a'")).toEqual([]);
  });
});

describe("the embedded data directory", () => {
  it("is held by a lock file naming its PID, and a second opener is refused by name", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qualify-data-"));
    const db = await openDatabase(loadConfig({ QUALIFY_DATA_DIR: dir }));
    try {
      expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8")).pid).toBe(process.pid);
      // Another live process holding it: our parent stands in for one.
      writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: process.ppid }));
      expect(() => lockDataDir(dir)).toThrow(`${dir} is in use by process ${process.ppid}`);
      writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: process.pid }));
    } finally {
      await db.close();
    }
    // A lock left by a process that is gone is taken over; the data survives a reopen.
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 2 ** 22 + 12345 }));
    const again = await openDatabase(loadConfig({ QUALIFY_DATA_DIR: dir }));
    expect(await again.query("select id from workspaces")).toEqual([{ id: "default" }]);
    await again.close();
  });
});

describe("configuration", () => {
  it("defaults the data directory and names a bad variable", () => {
    expect(loadConfig({})).toMatchObject({ dataDir: "./data", databaseUrl: undefined, port: 3000 });
    expect(() => loadConfig({ PORT: "http" })).toThrow(QualifyError);
    try {
      loadConfig({ DATABASE_URL: "mysql://x" });
      throw new Error("accepted");
    } catch (e) {
      expect(e).toBeInstanceOf(QualifyError);
      expect((e as QualifyError).details).toEqual([
        { path: "DATABASE_URL", message: "expected a postgres:// URL, got 'mysql://x'" },
      ]);
    }
  });
});
