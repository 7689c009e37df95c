import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { qualify as runQualify } from "../support/live-cli.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from "../support/test-service.js";

/** `qualify import leads`: a CRM export by a column mapping, with its bad rows reported by line. */
const CSV = `Lead ID,Email,Lead Source,Visits,Converted,Converted At,Notes,
L1,a@acme.example,Google,3,Yes,2026-05-02T10:00:00Z,called twice,
L2,b@acme.example,Referral,0,No,,,
L3,,Select,"12",1,,"a note, with a comma",
L4,d@acme.example,Google,many,No,,,
L1,e@acme.example,Google,1,No,,,
L6,f@acme.example,Google,1,No,
`;

const MAPPING = `columns:
  Lead ID: id
  Email: email
  Lead Source: { trait: source }
  Visits: count
  Converted: { outcome: won }
  Converted At: { outcomeTime: won }
  Notes: ignore
missing: ["", Select]
`;

describe.each(DATABASE_KINDS)("importing leads from a CSV on %s", (kind) => {
  let service: TestService;
  let env: Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), "qualify-import-leads-"));
  const csv = join(dir, "leads.csv");
  const map = join(dir, "mapping.yaml");

  beforeAll(async () => {
    service = await startTestService(kind);
    env = { QUALIFY_URL: service.url, QUALIFY_TOKEN: TEST_ADMIN_TOKEN };
    writeFileSync(csv, CSV);
    writeFileSync(map, MAPPING);
  });
  afterAll(async () => {
    await service.close();
  });

  it("imports the good rows with traits, counts and outcomes, and reports the bad ones by line", async () => {
    const r = await runQualify(["import", "leads", csv, "--map", map], env);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain(
      `imported 3 leads from ${csv} (0 unchanged, 2 outcomes recorded, 3 rows rejected)`,
    );
    expect(r.stderr).toContain(`${csv}:5: Visits: 'many' is not a count (a number ≥ 0)`);
    expect(r.stderr).toContain(`${csv}:6: (id): 'L1' is also on line 2`);
    expect(r.stderr).toContain(`${csv}:7: (row): has 6 cells, the header has 8`);
    const leads = await service.service.db.query<{
      user_id: string;
      email: string | null;
      traits: Record<string, unknown>;
    }>("select user_id, email, traits from leads where user_id is not null order by user_id");
    expect(leads.map((l) => l.user_id)).toEqual(["L1", "L2", "L3"]);
    expect(leads[0]?.traits).toEqual({ email: "a@acme.example", source: "Google", counts: { visits: 3 } });
    // "Select" means no value: L3 has no source.
    expect(leads[2]?.traits).toEqual({ counts: { visits: 12 } });
    const facts = await service.service.db.query<{ message_id: string; at: number }>(
      "select message_id, at from events where kind = 'fact' order by message_id",
    );
    expect(facts.map((f) => f.message_id)).toEqual(["import:L1:won", "import:L3:won"]);
    expect(Number(facts[0]?.at)).toBe(Date.parse("2026-05-02T10:00:00Z"));
  });

  it("imports nothing twice when run again", async () => {
    const r = await runQualify(["import", "leads", csv, "--map", map], env);
    expect(r.stdout).toContain("imported 0 leads");
    expect(r.stdout).toContain("(3 unchanged, 0 outcomes recorded, 3 rows rejected)");
    const n = await service.service.db.query<{ n: number }>(
      "select count(*)::int as n from leads where user_id is not null",
    );
    expect(n[0]?.n).toBe(3);
  });

  it("refuses a mapping that names a column the file lacks, or has no id", async () => {
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "columns:\n  Lead Id: id\n  Visits: { count: 'two words' }\n");
    const r = await runQualify(["import", "leads", csv, "--map", bad], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/columns\.Visits/);
    writeFileSync(bad, "columns:\n  Lead Id: id\n");
    const r2 = await runQualify(["import", "leads", csv, "--map", bad], env);
    expect(r2.code).not.toBe(0);
    expect(r2.stderr).toContain("'Lead Id' not in");
  });
});
