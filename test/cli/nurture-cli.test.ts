import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LiveServer, qualify, startServerInTempDir } from "../support/live-cli.js";
import { tempFiles } from "../support/run-cli.js";

/**
 * `qualify templates …`, `qualify nurture …` and `qualify sequences …` as users run them, against
 * a real `qualify start`: a bad sequence named line by line, a sequence refused until the postal
 * address is set, then saved, shown, paused and run again; a suppression added and listed.
 */

const files = tempFiles({
  "tpl.yaml": `id: tpl-hello
subject: Hello
html: |
  <p>Hello {{ trait.first_name | default: "there" }}</p>
text: Hello
`,
  "seq.yaml": `id: hello
entry: { stage: lead }
steps:
  - { id: email-1, send: tpl-hello }
  - { id: pause, wait: 2d }
`,
  "bad-seq.yaml": `id: bad
entry: {}
steps:
  - { id: a, wait: 2 days }
  - { id: b, if: { minGrade: B }, then: a }
`,
  "settings.yaml": `postalAddress: "Acme Inc., 5 Main Street, Springfield"
quietHours: { start: "22:00", end: "07:00" }
frequencyCap: { max: 2, window: 7d }
`,
  "bad-settings.yaml": `quietHours: { start: "25:00", end: "07:00" }
`,
});
const file = (name: string) => files[name] as string;

describe("the nurture CLI against a running server", () => {
  let running: Awaited<ReturnType<typeof startServerInTempDir>>;
  let env: Record<string, string>;
  let server: LiveServer;

  beforeAll(async () => {
    running = await startServerInTempDir("qualify-nurture-cli-", {
      writeKey: "wk_nurture_cli_key_0001",
      adminToken: "qlf_nurture_cli_admin_0001",
    });
    ({ env, server } = running);
  }, 120_000);
  afterAll(async () => {
    await running?.stop();
  }, 60_000);

  it("checks, saves, shows, pauses and runs a sequence; settings and suppressions", async () => {
    expect(server.url).toMatch(/^http/);
    const bad = await qualify(["sequences", "check", file("bad-seq.yaml")], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("line 2: entry: say how a lead enters: stage, when or event");
    expect(bad.stderr).toContain("line 4: steps[0].wait: expected a duration like 30d, got '2 days'");
    expect(bad.stderr).toContain("line 5: steps[1].then: 'a' comes before this step");

    expect((await qualify(["templates", "save", file("tpl.yaml")], env)).code).toBe(0);
    const refused = await qualify(["sequences", "save", file("seq.yaml")], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("postal address");

    const badSettings = await qualify(["nurture", "settings", "--set", file("bad-settings.yaml")], env);
    expect(badSettings.code).toBe(1);
    expect(badSettings.stderr).toContain("quietHours.start");
    const settings = await qualify(["nurture", "settings", "--set", file("settings.yaml")], env);
    expect(settings.code, settings.stderr).toBe(0);
    expect(JSON.parse(settings.stdout)).toMatchObject({
      postalAddress: "Acme Inc., 5 Main Street, Springfield",
      frequencyCap: { max: 2, window: 604_800_000 },
    });

    const saved = await qualify(["sequences", "save", file("seq.yaml")], env);
    expect(saved.stdout).toBe("saved sequence hello version 1 (running)\n");
    expect((await qualify(["sequences", "list"], env)).stdout).toBe("hello  v1  running\n");
    expect((await qualify(["sequences", "show", "hello"], env)).stdout).toContain(
      "hello: running v1, 1 versions\nenrollments: active 0, completed 0, exited 0\n",
    );
    expect((await qualify(["sequences", "pause", "hello"], env)).stdout).toBe("hello: paused\n");
    expect((await qualify(["sequences", "list"], env)).stdout).toBe("hello  v1  paused\n");
    expect((await qualify(["sequences", "activate", "hello"], env)).stdout).toBe(
      "hello: running version 1\n",
    );

    expect((await qualify(["nurture", "suppressions", "add", "Nope@Example.com"], env)).code).toBe(0);
    expect((await qualify(["nurture", "suppressions", "list"], env)).stdout).toMatch(
      /^nope@example\.com {2}manual /,
    );
    expect((await qualify(["nurture", "emails", "--status", "unknown"], env)).stdout).toBe("");
  });
});
