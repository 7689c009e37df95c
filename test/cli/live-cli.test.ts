import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basicAuth } from "../support/lead-fixtures.js";
import { freePort, type LiveServer, qualify, startLiveServer, waitForPipeline } from "../support/live-cli.js";
import { tempFiles } from "../support/run-cli.js";

/**
 * The live commands against a real `qualify start` on a fresh PGlite data directory. Each command
 * is a process of its own with only QUALIFY_DATA_DIR set: it finds the server through the lock file.
 * Then the same through QUALIFY_URL and QUALIFY_TOKEN, and in-process once the server has stopped.
 */

const WRITE_KEY = "wk_live_cli_test_key_0001";
const ADMIN_TOKEN = "qlf_live_cli_admin_token_0001";

const example = readFileSync("examples/events.ndjson", "utf8").trimEnd().split("\n");
const BAD_LINE = 5;
const importLines = [
  ...example.slice(0, BAD_LINE - 1),
  JSON.stringify({ type: "track", userId: "u-bad", timestamp: "2026-10-01T00:00:00Z" }),
  ...example.slice(BAD_LINE - 1),
];
const source = readFileSync("models/default.yaml", "utf8");
const files = tempFiles({
  "history.ndjson": `${importLines.join("\n")}\n`,
  "lower.yaml": source.replace("- { score: engagement, gte: 50 }", "- { score: engagement, gte: 15 }"),
  "broken.yaml":
    "name: m\nversion: 1\nrules:\n  - id: r\n    match: X\n    points: 1\n    decay: { halfLife: 30 }\nqualification:\n  mql: { score: engagement, gtee: 5 }\n",
});
const file = (name: string) => files[name] as string;

describe("the live CLI against a running server", () => {
  let dataDir: string;
  let server: LiveServer;
  let env: Record<string, string>;
  let salesToken = "";
  let newKey = "";

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "qualify-live-cli-"));
    env = { QUALIFY_DATA_DIR: dataDir };
    server = await startLiveServer({
      QUALIFY_DATA_DIR: dataDir,
      PORT: String(await freePort()),
      HOST: "127.0.0.1",
      QUALIFY_WRITE_KEY: WRITE_KEY,
      QUALIFY_ADMIN_TOKEN: ADMIN_TOKEN,
      QUALIFY_ADMIN_PASSWORD: "live-cli-admin-password",
      LOG_LEVEL: "info",
    });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it("started on a fresh data directory with the configured credentials", () => {
    const out = server.output();
    expect(out).toContain(`Qualify listening on ${server.url} (PGlite in ${dataDir})`);
    expect(out).toContain("First start: models/default.yaml is model v1, active.");
    // The credentials came from the environment: nothing was generated to print.
    expect(out).not.toContain("Generated credentials");
    const lock = JSON.parse(readFileSync(join(dataDir, "qualify.lock"), "utf8"));
    expect(lock).toMatchObject({ pid: server.child.pid, url: server.url });
    expect(lock.token).toMatch(/^local_/);
  });

  it("imports NDJSON history: good lines stored, each bad one reported as file:line: field: reason", async () => {
    const r = await qualify(["import", file("history.ndjson")], env);
    expect(r.stderr).toContain(
      `${file("history.ndjson")}:${BAD_LINE}: event: a track call needs an event name`,
    );
    expect(r.stderr.match(/: event: /g)).toHaveLength(1);
    expect(r.stdout).toContain(
      `imported ${example.length - 1} events from ${file("history.ndjson")} (1 duplicates skipped, 1 lines rejected)`,
    );
    expect(r.code).toBe(1);
    // Importing again stores nothing new.
    const again = await qualify(["import", file("history.ndjson")], env);
    expect(again.stdout).toContain(`imported 0 events`);
    expect(again.stdout).toContain(`(${example.length} duplicates skipped, 1 lines rejected)`);
  });

  it("lists leads through the server found by the lock file", async () => {
    const r = await qualify(["leads"], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(8);
    const jordan = lines.find((l) => l.includes("jordan.lee@northwind.io"));
    expect(jordan).toMatch(/ mql +A {2}.*\bfit 85\b.* {2}MQL 2026-10-18T11:12:00.000Z$/);
    expect(jordan).toMatch(/\bengagement \d+(\.\d+)?\b/);
    expect(lines.find((l) => l.includes("casey@rival.example"))).toContain("disqualified");

    const json = await qualify(["leads", "--stage", "mql", "--sort", "mqlAt", "--json"], env);
    expect(json.code).toBe(0);
    const page = JSON.parse(json.stdout) as { items: { userId: string }[]; nextCursor: string | null };
    expect(page.items.map((l) => l.userId)).toEqual(["u-morgan", "u-jordan", "u-sam"]);
    expect(page.nextCursor).toBeNull();

    const none = await qualify(["leads", "--q", "nobody-here"], env);
    expect(none.stdout).toBe("no leads\n");
  });

  it("shows one lead, and explains it: every contribution and the qualification reason", async () => {
    const show = await qualify(["lead", "jordan.lee@northwind.io"], env);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(
      /^Lead \S+ \(jordan\.lee@northwind\.io\)\n {2}stage mql, grade A, .*\bfit 85\b/,
    );
    expect(show.stdout).toMatch(/2026-10-18T11:12:00.000Z {2}lead → mql {2}\(system\) engagement ≥ 50/);

    const r = await qualify(["lead", "u-jordan", "--explain"], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(/^Lead \S+ \(jordan\.lee@northwind\.io\) as of \S+, model default-b2b@v1\n/);
    expect(out).toMatch(/\n {2}stage mql, grade A, .*\bengagement [\d.]+/);
    expect(out).toContain("  qualified: MQL at 2026-10-18T11:12:00.000Z: engagement ≥ 50");
    expect(out).toContain("  engagement:\n");
    expect(out).toContain("  fit:\n");
    expect(out).toMatch(
      /\+ *[\d.]+ {2}pricing-visits: 25 × 0\.\d{3} {2}event msg-0010 at 2026-10-18T11:12:00.000Z/,
    );
    expect(out).toMatch(/\+ *30\.00 {2}seniority: 30 {2}traits \(executive\)/);

    const past = await qualify(["lead", "u-jordan", "--explain", "--at", "2026-10-16T00:00:00Z"], env);
    expect(past.code).toBe(0);
    expect(past.stdout).toContain("as of 2026-10-16T00:00:00.000Z");
    expect(past.stdout).toContain("  stage lead, grade A");
    expect(past.stdout).toContain("  not-qualified: ");
    expect(past.stdout).not.toContain("pricing-visits");

    const blocked = await qualify(["lead", "u-alex", "--explain"], env);
    expect(blocked.stdout).toContain("  blocked: blocked by student");

    const json = await qualify(["lead", "u-jordan", "--explain", "--json"], env);
    const e = JSON.parse(json.stdout) as {
      scores: Record<string, number>;
      contributions: { group: string; points: number }[];
    };
    for (const [group, score] of Object.entries(e.scores)) {
      const sum = e.contributions
        .filter((c) => c.group === group)
        .reduce((s, c) => s + Math.round(c.points * 100), 0);
      expect(sum, group).toBe(Math.round(score * 100));
    }
  });

  it("creates users, tokens and write keys", async () => {
    const user = await qualify(
      ["users", "create", "--email", "x@y.com", "--role", "sales", "--team", "emea"],
      env,
    );
    expect(user.stderr).toBe("");
    expect(user.code).toBe(0);
    expect(user.stdout).toMatch(/^created user x@y\.com \(sales; teams emea\), id [0-9a-f-]{36}\n$/);
    const dup = await qualify(["users", "create", "--email", "x@y.com", "--role", "sales"], env);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain("qualify: a user with email x@y.com already exists");
    const badRole = await qualify(["users", "create", "--email", "z@y.com", "--role", "king"], env);
    expect(badRole.code).toBe(1);
    expect(badRole.stderr).toContain("role");

    const token = await qualify(["tokens", "create", "--user", "x@y.com"], env);
    expect(token.code).toBe(0);
    expect(token.stdout).toMatch(/^qlf_\S+\n$/);
    expect(token.stderr).toContain("token for x@y.com (sales); shown once");
    salesToken = token.stdout.trim();
    const noUser = await qualify(["tokens", "create", "--user", "nobody@y.com"], env);
    expect(noUser.code).toBe(1);
    expect(noUser.stderr).toContain("no user nobody@y.com");

    const key = await qualify(["keys", "create", "--name", "website"], env);
    expect(key.code).toBe(0);
    expect(key.stdout).toMatch(/^wk_\S+\n$/);
    newKey = key.stdout.trim();
    // The new write key sends events; it reads nothing.
    const sent = await fetch(`${server.url}/v1/page`, {
      method: "POST",
      headers: { authorization: basicAuth(newKey), "content-type": "application/json" },
      body: JSON.stringify({
        anonymousId: "anon-newkey",
        name: "Home",
        properties: { path: "/" },
        timestamp: "2026-10-26T12:00:00Z",
      }),
    });
    expect(sent.status).toBe(200);
    await waitForPipeline(server.url, ADMIN_TOKEN);
    const read = await fetch(`${server.url}/api/leads`, { headers: { authorization: `Bearer ${newKey}` } });
    expect(read.status).toBe(401);
  });

  it("talks to the server named by QUALIFY_URL with QUALIFY_TOKEN, with that token's role", async () => {
    expect(salesToken).not.toBe("");
    const elsewhere = mkdtempSync(join(tmpdir(), "qualify-elsewhere-"));
    try {
      const remote = { QUALIFY_URL: server.url, QUALIFY_TOKEN: salesToken, QUALIFY_DATA_DIR: elsewhere };
      // A sales user sees only their own leads (owned, or handed off to them): none here.
      const mine = await qualify(["leads", "--stage", "mql"], remote);
      expect(mine.stderr).toBe("");
      expect(mine.code).toBe(0);
      expect(mine.stdout).toBe("no leads\n");
      const r = await qualify(["leads", "--stage", "mql"], { ...remote, QUALIFY_TOKEN: ADMIN_TOKEN });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("jordan.lee@northwind.io");
      expect(r.stdout.trimEnd().split("\n")).toHaveLength(3);
      // Nothing was opened in the other data directory.
      expect(existsSync(join(elsewhere, "qualify.lock"))).toBe(false);
      expect(existsSync(join(elsewhere, "PG_VERSION"))).toBe(false);

      const forbidden = await qualify(["users", "create", "--email", "w@y.com", "--role", "admin"], remote);
      expect(forbidden.code).toBe(1);
      expect(forbidden.stderr).toContain("role sales may not do this; it needs admin");

      const noToken = await qualify(["leads"], { QUALIFY_URL: server.url, QUALIFY_DATA_DIR: elsewhere });
      expect(noToken.code).toBe(1);
      expect(noToken.stderr).toContain("set QUALIFY_TOKEN");

      const wrong = await qualify(["leads"], { ...remote, QUALIFY_TOKEN: "qlf_not_a_token" });
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain("unknown or revoked API token");
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it("publishes a model: errors with lines, a stored version without --yes, preview and result with it", async () => {
    const broken = await qualify(["model", "publish", file("broken.yaml"), "--yes"], env);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain("the model is invalid (2 errors)");
    expect(broken.stderr).toContain("line 9: qualification.mql.gtee: unknown operator");

    const unconfirmed = await qualify(["model", "publish", file("lower.yaml")], env);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stdout).toContain("Preview of model v2 over 9 leads:");
    expect(unconfirmed.stdout).toContain("Not published. Model v2 is stored");

    const r = await qualify(["model", "publish", file("lower.yaml"), "--yes", "--active-days", "3650"], env);
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out).toContain("Preview of model v3 over 9 leads:");
    // Taylor: webinar registration and attendance, grade B; engagement 15 is now enough.
    expect(out).toContain("  1 would newly qualify; 1 of them active in the last 3650 days get an MQL now");
    expect(out).toContain("  0 current MQLs would not have qualified (they keep their stage)");
    expect(out).toContain("    week of 2026-10-19: 1 (1 active)");
    expect(out).toContain(
      "Published model v3: 9 leads rescored, 1 newly qualified, 0 inactive leads left to qualify at their next event.",
    );

    const taylor = await qualify(["lead", "u-taylor"], env);
    expect(taylor.stdout).toContain("  stage mql,");
    expect(taylor.stdout).toMatch(
      /lead → mql {2}\(model:v3\) model v3 published; it would have qualified the lead at 2026-10-19T08:00:00.000Z/,
    );
    const explained = await qualify(["lead", "u-jordan", "--explain"], env);
    expect(explained.stdout).toContain("model default-b2b@v3");
    // Already an MQL: the publish gave Jordan no second one.
    const jordan = await qualify(["lead", "u-jordan"], env);
    expect(jordan.stdout.match(/→ mql/g)).toHaveLength(1);
    expect(jordan.stdout).not.toContain("model:v3");
  });

  it("erases a lead with --yes only", async () => {
    const refused = await qualify(["lead", "erase", "u-priya"], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("add --yes to confirm");

    const r = await qualify(["lead", "erase", "u-priya", "--yes"], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^erased \S+: 8 events, 1 transitions\n$/);

    const gone = await qualify(["lead", "u-priya"], env);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("qualify: no lead u-priya");
    const list = await qualify(["leads"], env);
    expect(list.stdout).not.toContain("priya@gmail.com");
  });

  it("keeps secrets out of the server's log", () => {
    const log = server.output();
    // The log is on: request lines are there.
    expect(log).toContain('"msg":"incoming request"');
    for (const secret of [WRITE_KEY, ADMIN_TOKEN, salesToken, newKey]) {
      expect(secret.length).toBeGreaterThan(15);
      expect(log).not.toContain(secret);
    }
    const lock = JSON.parse(readFileSync(join(dataDir, "qualify.lock"), "utf8")) as { token: string };
    expect(log).not.toContain(lock.token);
  });

  it("works in-process on the data directory once the server has stopped", async () => {
    expect(await server.stop()).toBe(0);
    expect(existsSync(join(dataDir, "qualify.lock"))).toBe(false);
    const r = await qualify(["leads", "--stage", "mql"], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(4);
    expect(r.stdout).toContain("jordan.lee@northwind.io");
    expect(r.stdout).toContain("taylor@initech.com");
    // The in-process run released the directory again.
    expect(existsSync(join(dataDir, "qualify.lock"))).toBe(false);
    const json = await qualify(["lead", "u-taylor", "--json"], env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ userId: "u-taylor", stage: "mql", modelVersion: 3 });
  }, 120_000);
});
