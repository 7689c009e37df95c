import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { installErrorHandler } from "../../src/api/http-errors.js";
import { loadConfig } from "../../src/config/load-config.js";
import { databaseTimeout, isDatabaseUnavailable } from "../../src/db/database-unavailable.js";
import { QualifyError } from "../../src/errors.js";

/**
 * Database faults as the HTTP edge answers them, without a database: the pool settings, the driver
 * errors that mean "unavailable" or "timed out", and the 503 with Retry-After they become.
 */

const limits = { poolSize: 3, statementTimeoutMs: 500, connectTimeoutMs: 250 };
const sqlError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe("database pool settings", () => {
  it("default to 10 connections, 60 s per statement and 5 s to connect", () => {
    expect(loadConfig({})).toMatchObject({
      dbPoolSize: 10,
      dbStatementTimeoutMs: 60_000,
      dbConnectTimeoutMs: 5_000,
    });
    expect(
      loadConfig({
        QUALIFY_DB_POOL_SIZE: "2",
        QUALIFY_DB_STATEMENT_TIMEOUT_MS: "500",
        QUALIFY_DB_CONNECT_TIMEOUT_MS: "250",
      }),
    ).toMatchObject({ dbPoolSize: 2, dbStatementTimeoutMs: 500, dbConnectTimeoutMs: 250 });
  });

  it("refuse a value out of range, naming the variable", () => {
    for (const [name, value] of [
      ["QUALIFY_DB_POOL_SIZE", "0"],
      ["QUALIFY_DB_STATEMENT_TIMEOUT_MS", "1.5"],
      ["QUALIFY_DB_CONNECT_TIMEOUT_MS", "0"],
    ] as const) {
      const e = (() => {
        try {
          loadConfig({ [name]: value });
        } catch (err) {
          return err as QualifyError;
        }
      })();
      expect(e).toBeInstanceOf(QualifyError);
      expect(e?.details[0]?.path).toBe(name);
    }
  });
});

describe("database errors", () => {
  it("a statement timeout and a pool checkout timeout become DATABASE_TIMEOUT naming the limit", () => {
    const statement = databaseTimeout(
      sqlError("57014", "canceling statement due to statement timeout"),
      limits,
    );
    expect(statement).toMatchObject({
      code: "DATABASE_TIMEOUT",
      status: 503,
      message: "the database did not answer within 500 ms (QUALIFY_DB_STATEMENT_TIMEOUT_MS); retry shortly",
    });
    const pool = databaseTimeout(new Error("timeout exceeded when trying to connect"), limits);
    expect(pool?.message).toBe(
      "no database connection became free within 250 ms (QUALIFY_DB_CONNECT_TIMEOUT_MS); all 3 (QUALIFY_DB_POOL_SIZE) are busy; retry shortly",
    );
    expect(pool?.cause).toBeInstanceOf(Error);
    // A user's cancel shares the SQLSTATE but is no timeout; other errors pass through.
    expect(databaseTimeout(sqlError("57014", "canceling statement due to user request"), limits)).toBeNull();
    expect(databaseTimeout(sqlError("23505", "duplicate key"), limits)).toBeNull();
  });

  it("recognises an unreachable server, over TCP or a unix socket", () => {
    expect(isDatabaseUnavailable(Object.assign(new Error("x"), { code: "ECONNREFUSED" }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error("x"), { code: "ENOENT", syscall: "connect" }))).toBe(
      true,
    );
    expect(
      isDatabaseUnavailable(sqlError("57P01", "terminating connection due to administrator command")),
    ).toBe(true);
    expect(isDatabaseUnavailable(new Error("Connection terminated unexpectedly"))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error("x"), { code: "ENOENT", syscall: "open" }))).toBe(
      false,
    );
    expect(isDatabaseUnavailable(sqlError("23505", "duplicate key"))).toBe(false);
  });

  it("both answer 503 with Retry-After and a clear JSON error, never 500", async () => {
    const app = Fastify({ logger: false });
    installErrorHandler(app);
    const faults: Record<string, unknown> = {
      timeout: databaseTimeout(sqlError("57014", "canceling statement due to statement timeout"), limits),
      refused: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }),
    };
    app.get("/:fault", async (req) => {
      throw faults[(req.params as { fault: string }).fault];
    });
    const timeout = await app.inject({ method: "GET", url: "/timeout" });
    expect(timeout.statusCode).toBe(503);
    expect(timeout.headers["retry-after"]).toBe("5");
    expect(timeout.json()).toMatchObject({
      error: "DATABASE_TIMEOUT",
      message: "the database did not answer within 500 ms (QUALIFY_DB_STATEMENT_TIMEOUT_MS); retry shortly",
      field: "QUALIFY_DB_STATEMENT_TIMEOUT_MS",
    });
    const refused = await app.inject({ method: "GET", url: "/refused" });
    expect(refused.statusCode).toBe(503);
    expect(refused.headers["retry-after"]).toBe("5");
    expect(refused.json()).toMatchObject({ error: "NOT_READY" });
    await app.close();
  });
});
