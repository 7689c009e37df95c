import { describe, expect, it } from "vitest";
import { ndjson, runCli, tempFiles } from "../support/run-cli.js";

const MODEL = "models/default.yaml";
const EXAMPLE = "examples/events.ndjson";

describe("qualify score", () => {
  it("scores the example events with the default model as a JSON array of leads", () => {
    const r = runCli(["score", "--model", MODEL, "--events", EXAMPLE, "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const leads = JSON.parse(r.stdout) as Record<string, unknown>[];
    const byUser = Object.fromEntries(leads.map((l) => [l.userId ?? (l.anonymousIds as string[])[0], l]));
    expect(Object.keys(byUser).sort()).toEqual([
      "anon-visitor-7",
      "u-alex",
      "u-casey",
      "u-jordan",
      "u-morgan",
      "u-priya",
      "u-sam",
      "u-taylor",
    ]);
    // Jordan qualified on score: ebook, webinar, then the third pricing visit within a week.
    expect(byUser["u-jordan"]).toMatchObject({
      userId: "u-jordan",
      anonymousIds: ["anon-jordan"],
      stage: "mql",
      grade: "A",
      mqlAt: "2026-10-18T11:12:00.000Z",
    });
    // Sam is at Northwind: the account's size and industry come from Jordan's group call.
    expect(byUser["u-sam"]).toMatchObject({
      stage: "mql",
      mqlAt: "2026-10-20T10:02:00.000Z",
      scores: { fit: 75 },
    });
    expect(byUser["u-casey"]).toMatchObject({ stage: "disqualified" });
    expect(byUser["u-alex"]).toMatchObject({ stage: "lead", qualification: { status: "blocked" } });
    expect(byUser["u-priya"]).toMatchObject({ stage: "subscriber", mqlAt: null });
    expect(byUser["anon-visitor-7"]).toMatchObject({ userId: null, stage: "visitor" });
    // Taylor's anonymous webinar registration was aliased; the duplicate attendance counts once.
    expect(byUser["u-taylor"]).toMatchObject({ anonymousIds: ["anon-taylor"], stage: "lead" });
    for (const l of leads) expect(Object.keys(l.scores as object)).toEqual(["engagement", "fit"]);
  });

  it("prints a table by default", () => {
    const r = runCli(["score", "--model", MODEL, "--events", EXAMPLE]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^lead\s+stage\s+grade\s+engagement\s+fit\s+mqlAt/);
    expect(r.stdout).toContain("8 leads scored as of 2026-10-26T07:31:00.000Z; 3 are MQLs now.");
  });

  it("explains one lead: every contribution, adding up to the score, and the stage history", () => {
    const r = runCli(["score", "--model", MODEL, "--events", EXAMPLE, "--explain", "u-jordan"]);
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out).toContain("Lead u-jordan");
    expect(out).toMatch(
      /pricing-visits\s+page \/pricing at 2026-10-18T11:12:00.000Z \(message msg-\d+\)\s+25/,
    );
    expect(out).toMatch(/seniority \(executive\)\s+title = "VP of Marketing"/);
    expect(out).toContain("subscriber → lead  by system");
    expect(out).toMatch(/lead → mql {2}by system \[pricing-visits, pricing-visit\]: engagement ≥ 50/);
    // The rows of each group add up to its total.
    for (const group of ["engagement", "fit"]) {
      const section = out.split(`\n${group} = `)[1]?.split("\n\n")[0] ?? "";
      const total = Number(section.split("\n")[0]);
      const rows = section.split("\n").slice(2);
      const sum = rows.reduce((a, row) => a + Math.round(Number(row.trim().split(/\s+/).at(-1)) * 100), 0);
      expect(sum).toBe(Math.round(total * 100));
    }
  });

  it("scores as of an earlier time with --at, ignoring later events", () => {
    const r = runCli([
      "score",
      "--model",
      MODEL,
      "--events",
      EXAMPLE,
      "--json",
      "--at",
      "2026-10-16T00:00:00Z",
    ]);
    const leads = JSON.parse(r.stdout) as { userId: string; stage: string }[];
    expect(leads.find((l) => l.userId === "u-jordan")?.stage).toBe("lead");
    expect(leads.some((l) => l.userId === "u-sam")).toBe(true);
  });

  it("explains as JSON with --explain and --json", () => {
    const r = runCli(["score", "--model", MODEL, "--events", EXAMPLE, "--explain", "anon-jordan", "--json"]);
    const body = JSON.parse(r.stdout) as {
      userId: string;
      evaluation: { contributions: { eventId?: string }[] };
    };
    expect(body.userId).toBe("u-jordan");
    expect(body.evaluation.contributions.some((c) => c.eventId?.startsWith("msg-"))).toBe(true);
  });

  it("names the file, the line and the reason of every bad line, and exits non-zero", () => {
    const f = tempFiles({
      "bad.ndjson": [
        JSON.stringify({
          type: "track",
          userId: "u1",
          event: "Form Submitted",
          timestamp: "2026-01-01T00:00:00Z",
        }),
        "{not json",
        JSON.stringify({ type: "purchase", userId: "u1", timestamp: "2026-01-01T00:00:00Z" }),
        JSON.stringify({ type: "track", event: "X", timestamp: "2026-01-01T00:00:00Z" }),
        "",
        JSON.stringify({ type: "page", anonymousId: "a", timestamp: "yesterday" }),
      ].join("\n"),
    });
    const r = runCli(["score", "--model", MODEL, "--events", f["bad.ndjson"] as string]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    const file = f["bad.ndjson"];
    expect(r.stderr).toContain(`${file}: 4 bad line(s)`);
    expect(r.stderr).toContain(`${file}:2: invalid JSON`);
    expect(r.stderr).toContain(
      `${file}:3: type: expected one of track, page, screen, identify, group, alias, got "purchase"`,
    );
    expect(r.stderr).toContain(`${file}:4: userId: every call needs a userId or an anonymousId`);
    expect(r.stderr).toContain(`${file}:6: timestamp: expected an ISO-8601 date, got "yesterday"`);
  });

  it("rejects a bad model with every error and its line", () => {
    const f = tempFiles({
      "model.yaml":
        "name: m\nversion: 1\nrules:\n  - id: r\n    match: X\n    points: 1\n    decay: { halfLife: 30 }\nqualification:\n  mql: { score: engagement, gtee: 5 }\n",
      "events.ndjson": ndjson([
        { type: "track", userId: "u", event: "X", timestamp: "2026-01-01T00:00:00Z" },
      ]),
    });
    const r = runCli([
      "score",
      "--model",
      f["model.yaml"] as string,
      "--events",
      f["events.ndjson"] as string,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("the model is invalid (2 errors)");
    expect(r.stderr).toContain("line 7: rules[0].decay.halfLife: expected a duration like 30d, got '30'");
    expect(r.stderr).toContain("line 9: qualification.mql.gtee: unknown operator");
  });

  it("fails clearly on a missing file, an unknown lead and a bad --at", () => {
    expect(runCli(["score", "--model", MODEL, "--events", "nope.ndjson"]).stderr).toContain(
      "nope.ndjson: cannot read (ENOENT)",
    );
    const unknown = runCli(["score", "--model", MODEL, "--events", EXAMPLE, "--explain", "u-nobody"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no lead with userId or anonymousId 'u-nobody'");
    const at = runCli(["score", "--model", MODEL, "--events", EXAMPLE, "--at", "soon"]);
    expect(at.code).toBe(1);
    expect(at.stderr).toContain("--at: expected an ISO-8601 time");
  });
});

describe("qualify model check", () => {
  it("summarises a valid model", () => {
    const r = runCli(["model", "check", MODEL]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Model default-b2b version 1: valid");
    expect(r.stdout).toContain("engagement: half-life 30d, cap 150, reset on recycle");
    expect(r.stdout).toMatch(
      /pricing-visits \[engagement\] \+25: page where property path starts with \/pricing \(3x within 1w\)/,
    );
    expect(r.stdout).toContain("email-open [engagement] +1: track Email Opened (cap 1 per 1d)");
    expect(r.stdout).toContain("hand-raiser demo-request: track Demo Requested");
    expect(r.stdout).toContain("terminal disqualifier competitor");
    expect(r.stdout).toContain("Recycle: reset engagement; keep fit; cooldown 30d");
  });

  it("exits non-zero on an invalid model", () => {
    const f = tempFiles({ "m.yaml": "name: m\nversion: 1\nqualification: {}\n" });
    const r = runCli(["model", "check", f["m.yaml"] as string]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("line 3: qualification.mql: is required");
  });
});

describe("qualify help", () => {
  it("has help for every command", () => {
    for (const args of [["--help"], ["model", "--help"], ["model", "check", "--help"], ["score", "--help"]]) {
      const r = runCli(args);
      expect(r.code, args.join(" ")).toBe(0);
      expect(r.stdout).toMatch(/^Usage: qualify/);
    }
    expect(runCli(["score", "--help"]).stdout).toContain("--explain <userId>");
  });

  it("rejects unknown commands and missing options", () => {
    expect(runCli(["frobnicate"]).code).not.toBe(0);
    const r = runCli(["score", "--model", MODEL]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("required option '--events <file>' not specified");
  });
});
