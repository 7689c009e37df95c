import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basicAuth } from "../support/lead-fixtures.js";
import { type LiveServer, qualify, startServerInTempDir } from "../support/live-cli.js";
import { tempFiles } from "../support/run-cli.js";

/**
 * `qualify routing …`, `qualify users set` and `qualify handoffs …` as users run them, against a real
 * `qualify start`: routing saved from a file, an MQL routed by the running scheduler, and a sales
 * rep working their queue with their own token.
 */

const WRITE_KEY = "wk_handoff_cli_key_0001";
const ADMIN_TOKEN = "qlf_handoff_cli_admin_0001";
const WEEK = '["00:00-24:00"]';
const files = tempFiles({
  "routing.yaml": `teams:
  inside:
    timeZone: Europe/Paris
    hours: { mon: ${WEEK}, tue: ${WEEK}, wed: ${WEEK}, thu: ${WEEK}, fri: ${WEEK}, sat: ${WEEK}, sun: ${WEEK} }
    sla: { businessHours: 2 }
fallback: { team: inside }
`,
  "bad-routing.yaml": `teams:
  inside:
    timeZone: Europe/Paris
    hours: { mon: ["18:00-09:00"] }
fallback: { team: outside }
`,
});
const file = (name: string) => files[name] as string;

describe("the handoff CLI against a running server", () => {
  let running: Awaited<ReturnType<typeof startServerInTempDir>>;
  let server: LiveServer;
  let env: Record<string, string>;
  let dataDir: string;

  beforeAll(async () => {
    running = await startServerInTempDir(
      "qualify-handoff-cli-",
      { writeKey: WRITE_KEY, adminToken: ADMIN_TOKEN },
      { QUALIFY_SCHEDULER_POLL_MS: "100" },
    );
    ({ server, env, dataDir } = running);
  }, 120_000);

  afterAll(async () => {
    await running?.stop();
  }, 60_000);

  it("checks and saves routing, routes an MQL, and lets its owner accept it", async () => {
    const bad = await qualify(["routing", "check", file("bad-routing.yaml")], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("line 4: teams.inside.hours.mon[0]: '18:00-09:00' ends before it starts");
    expect(bad.stderr).toContain("line 5: fallback.team: no team 'outside' in teams");

    expect((await qualify(["routing", "check", file("routing.yaml")], env)).stdout).toContain(
      "ok (1 teams, 0 rules",
    );
    const saved = await qualify(["routing", "save", file("routing.yaml")], env);
    expect(saved.stderr).toBe("");
    expect(saved.stdout).toBe("saved routing version 1 (active)\n");
    expect((await qualify(["routing", "versions"], env)).stdout).toMatch(/^v1 \(active\)/);

    for (const email of ["rita@corp.example", "remy@corp.example"])
      expect(
        (await qualify(["users", "create", "--email", email, "--role", "sales", "--team", "inside"], env))
          .code,
      ).toBe(0);
    const away = await qualify(
      ["users", "set", "remy@corp.example", "--unavailable", "--capacity", "20"],
      env,
    );
    expect(away.stdout).toBe("remy@corp.example: unavailable, capacity 20, teams inside\n");
    const token = (await qualify(["tokens", "create", "--user", "rita@corp.example"], env)).stdout.trim();
    const rita = { QUALIFY_URL: server.url, QUALIFY_TOKEN: token, QUALIFY_DATA_DIR: dataDir };

    const now = Date.now();
    const res = await fetch(`${server.url}/v1/batch`, {
      method: "POST",
      headers: { authorization: basicAuth(WRITE_KEY), "content-type": "application/json" },
      body: JSON.stringify({
        batch: [
          {
            type: "identify",
            userId: "u-cli",
            traits: { email: "cli@buyer.example" },
            messageId: "h-1",
            timestamp: new Date(now - 2000).toISOString(),
          },
          {
            type: "track",
            userId: "u-cli",
            event: "Demo Requested",
            messageId: "h-2",
            timestamp: new Date(now - 1000).toISOString(),
          },
        ],
      }),
    });
    expect(res.status).toBe(200);

    let list = "";
    for (let i = 0; i < 100 && !list.includes("pending"); i++) {
      list = (await qualify(["handoffs", "list", "--mine"], rita)).stdout;
      if (!list.includes("pending")) await new Promise((r) => setTimeout(r, 200));
    }
    expect(list).toContain("rita@corp.example");
    const id = list.split(/\s+/)[0] as string;
    const shown = await qualify(["handoffs", "show", id], rita);
    expect(shown.stdout).toContain("skipped remy@corp.example: unavailable");

    const wrong = await qualify(["handoffs", "won", id], rita);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("cannot won a handoff that is pending");
    const accepted = await qualify(["handoffs", "accept", id], rita);
    expect(accepted.stderr).toBe("");
    expect(accepted.stdout).toContain("accepted");
    expect(accepted.stdout).toContain("lead mql → sal");
  }, 120_000);
});
