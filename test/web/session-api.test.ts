import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService, TEST_ADMIN_PASSWORD, type TestService } from "../support/test-service.js";

/**
 * The dashboard's login over real HTTP: the session cookie's attributes, CSRF on state-changing
 * requests, roles enforced by the server for cookie sessions as for tokens, logout, password
 * changes, and the rate limit on failed logins.
 */
interface Browser {
  cookie: string | null;
  csrf: string | null;
}

async function call(
  service: TestService,
  b: Browser,
  method: string,
  path: string,
  body?: unknown,
  opts: { csrf?: boolean } = {},
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked by the assertions
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${service.url}${path}`, {
    method,
    headers: {
      ...(b.cookie ? { cookie: b.cookie } : {}),
      ...(b.csrf && opts.csrf !== false ? { "x-csrf-token": b.csrf } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

async function logIn(service: TestService, email: string, password: string): Promise<Browser> {
  const b: Browser = { cookie: null, csrf: null };
  const res = await call(service, b, "POST", "/api/session", { email, password });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const set = res.headers.get("set-cookie") ?? "";
  b.cookie = set.split(";")[0] ?? null;
  b.csrf = res.body.csrfToken;
  return b;
}

describe.each(DATABASE_KINDS)("dashboard login on %s", (kind) => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService(kind);
    for (const [email, role] of [
      ["mara@corp.example", "marketer"],
      ["sam@corp.example", "sales"],
    ])
      expect(
        (await service.api("POST", "/api/users", { email, role, password: `${role}-password-1` })).status,
      ).toBe(201);
  });
  afterAll(async () => {
    await service.close();
  });

  it("logs in with a secure, HTTP-only cookie and answers the user and a CSRF token", async () => {
    const res = await call(service, { cookie: null, csrf: null }, "POST", "/api/session", {
      email: "Admin@Localhost",
      password: TEST_ADMIN_PASSWORD,
    });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ email: "admin@localhost", role: "admin" });
    expect(res.body.csrfToken).toMatch(/^[\w-]{20,}$/);
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^qualify_session=[\w-]{40,};/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Path=\//);
    // Behind TLS (a proxy saying so), the cookie is Secure.
    const tls = await fetch(`${service.url}/api/session`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-proto": "https" },
      body: JSON.stringify({ email: "admin@localhost", password: TEST_ADMIN_PASSWORD }),
    });
    expect(tls.headers.get("set-cookie")).toMatch(/; Secure/i);
    // The password never reaches a stored row in the clear.
    const rows = await service.service.db.query<{ password_hash: string }>(
      "select password_hash from users where email = 'admin@localhost'",
    );
    expect(rows[0]?.password_hash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(rows[0]?.password_hash).not.toContain(TEST_ADMIN_PASSWORD);
  });

  it("requires the CSRF token on state-changing requests made with the cookie", async () => {
    const b = await logIn(service, "admin@localhost", TEST_ADMIN_PASSWORD);
    expect((await call(service, b, "GET", "/api/session")).body.user.email).toBe("admin@localhost");
    expect((await call(service, b, "GET", "/api/leads")).status).toBe(200);
    const body = { email: "new@corp.example", role: "sales" };
    const without = await call(service, b, "POST", "/api/users", body, { csrf: false });
    expect(without.status).toBe(403);
    expect(without.body).toMatchObject({ error: "FORBIDDEN", field: "X-CSRF-Token" });
    const wrong = await call(service, { ...b, csrf: "forged" }, "POST", "/api/users", body);
    expect(wrong.status).toBe(403);
    expect(
      (await service.api("GET", "/api/users")).body.map((u: { email: string }) => u.email),
    ).not.toContain("new@corp.example");
    expect((await call(service, b, "POST", "/api/users", body)).status).toBe(201);
  });

  it("enforces each role for cookie sessions as for tokens", async () => {
    const sales = await logIn(service, "sam@corp.example", "sales-password-1");
    expect((await call(service, sales, "GET", "/api/handoffs")).status).toBe(200);
    expect((await call(service, sales, "GET", "/api/users")).status).toBe(403);
    const model = await call(service, sales, "POST", "/api/models", { source: "name: x" });
    expect(model.status).toBe(403);
    expect(model.body.field).toBe("role");
    const marketer = await logIn(service, "mara@corp.example", "marketer-password-1");
    expect((await call(service, marketer, "GET", "/api/models")).status).toBe(200);
    expect((await call(service, marketer, "GET", "/api/users")).status).toBe(403);
    expect((await call(service, marketer, "POST", "/api/keys", { name: "x" })).status).toBe(403);
  });

  it("logs out: the session ends on the server, not only in the browser", async () => {
    const b = await logIn(service, "mara@corp.example", "marketer-password-1");
    const out = await call(service, b, "DELETE", "/api/session");
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toMatch(/qualify_session=;/);
    expect((await call(service, b, "GET", "/api/session")).status).toBe(401);
    const after = await call(service, b, "GET", "/api/leads");
    expect(after.status).toBe(401);
    expect(after.body.error).toBe("UNAUTHORIZED");
  });

  it("lets users change their own password with the current one; an admin sets anyone's", async () => {
    const b = await logIn(service, "sam@corp.example", "sales-password-1");
    const path = "/api/users/sam@corp.example/password";
    const bad = await call(service, b, "PUT", path, {
      password: "sales-password-2",
      currentPassword: "nope",
    });
    expect(bad.status).toBe(403);
    expect(bad.body.field).toBe("currentPassword");
    const other = await call(service, b, "PUT", "/api/users/mara@corp.example/password", {
      password: "hijacked-password",
      currentPassword: "sales-password-1",
    });
    expect(other.status).toBe(403);
    const short = await call(service, b, "PUT", path, {
      password: "short",
      currentPassword: "sales-password-1",
    });
    expect(short.status).toBe(400);
    expect(short.body.field).toBe("password");
    const ok = await call(service, b, "PUT", path, {
      password: "sales-password-2",
      currentPassword: "sales-password-1",
    });
    expect(ok.status).toBe(204);
    // A new password ends the user's sessions.
    expect((await call(service, b, "GET", "/api/session")).status).toBe(401);
    await logIn(service, "sam@corp.example", "sales-password-2");
    expect((await service.api("PUT", path, { password: "sales-password-1" })).status).toBe(204);
  });

  it("refuses logins after repeated failures, even with the right password", async () => {
    const email = "mara@corp.example";
    const anon: Browser = { cookie: null, csrf: null };
    for (let i = 0; i < 5; i++) {
      const res = await call(service, anon, "POST", "/api/session", { email, password: `guess-${i}` });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ error: "UNAUTHORIZED", field: "password" });
    }
    const limited = await call(service, anon, "POST", "/api/session", {
      email,
      password: "marketer-password-1",
    });
    expect(limited.status).toBe(429);
    expect(limited.body.error).toBe("RATE_LIMITED");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    // Other users are not locked out by someone guessing at this one.
    await logIn(service, "admin@localhost", TEST_ADMIN_PASSWORD);
  });
});
