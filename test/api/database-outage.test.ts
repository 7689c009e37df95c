import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService, type TestService } from "../support/test-service.js";

/**
 * PostgreSQL stops accepting connections while the service runs (the test's own database is closed
 * to connections and its backends are terminated, as a restart would): ingest answers 503 with
 * Retry-After and stores nothing, /readyz fails, and once the database is back the service recovers
 * by itself and processes everything it acknowledged.
 */
describe.skipIf(!DATABASE_KINDS.includes("postgres"))("a PostgreSQL outage", () => {
  let service: TestService;
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  afterAll(async () => {
    await service?.close();
    await admin.end().catch(() => undefined);
  });

  const track = (userId: string, messageId: string) =>
    fetch(`${service.url}/v1/track`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${service.writeKey}:`).toString("base64")}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ userId, messageId, event: "Asset Downloaded", properties: { type: "ebook" } }),
    });

  it("answers 503 with Retry-After while it is down, and recovers by itself", async () => {
    service = await startTestService("postgres");
    await admin.connect();
    const rows0 = await service.service.db.query<{ name: string }>("select current_database() as name");
    const name = rows0[0]?.name as string;
    expect((await track("u-before", "m-before")).status).toBe(200);

    await admin.query(`alter database ${name} allow_connections = false`);
    await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1", [name]);
    const down = await track("u-during", "m-during");
    expect(down.status).toBe(503);
    expect(down.headers.get("retry-after")).toBe("5");
    expect(await down.json()).toMatchObject({ error: "NOT_READY" });
    expect((await fetch(`${service.url}/readyz`)).status).toBe(503);

    await admin.query(`alter database ${name} allow_connections = true`);
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await track("u-during", "m-during")).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
    await service.drain();
    const rows = await service.service.db.query<{ message_id: string; processed: boolean }>(
      "select message_id, processed from events where kind = 'event' order by seq",
    );
    expect(rows).toEqual([
      { message_id: "m-before", processed: true },
      { message_id: "m-during", processed: true },
    ]);
  });
});
