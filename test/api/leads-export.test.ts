import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendBatch } from "../support/live-checks.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from "../support/test-service.js";

/** `GET /api/leads/export.csv`: the dashboard's CSV export of a filtered leads table. */
describe.each(DATABASE_KINDS)("the leads CSV export on %s", (kind) => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService(kind);
    const at = Date.parse("2026-03-02T10:00:00Z");
    await sendBatch(
      service,
      ["ann", "bob", "cyd"].map((u, i) => ({
        type: "identify",
        userId: `csv-${u}`,
        messageId: `csv-${u}`,
        timestamp: new Date(at + i * 60_000).toISOString(),
        traits: {
          email: `${u}@corp.example`,
          name: u === "cyd" ? '=HYPERLINK("http://evil.example","click")' : `${u}, the tester`,
        },
      })),
    );
    await service.drain();
  });
  afterAll(async () => {
    await service.close();
  });

  it("exports the filtered leads as RFC 4180 CSV, formulas escaped", async () => {
    const res = await fetch(`${service.url}/api/leads/export.csv?q=corp.example&sort=firstSeenAt`, {
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(res.headers.get("content-disposition")).toMatch(/attachment; filename="leads.csv"/);
    const lines = (await res.text()).split("\r\n");
    expect(lines[0]).toBe(
      "id,email,name,stage,grade,fit,engagement,owner,mqlAt,firstSeenAt,lastEventAt,eventCount",
    );
    expect(lines).toHaveLength(5);
    expect(lines[1]).toContain('ann@corp.example,"ann, the tester",');
    expect(lines[3]).toContain(`"'=HYPERLINK(""http://evil.example"",""click"")"`);
    const one = await fetch(`${service.url}/api/leads/export.csv?email=bob@corp.example`, {
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    });
    expect((await one.text()).split("\r\n").filter(Boolean)).toHaveLength(2);
  });
});
