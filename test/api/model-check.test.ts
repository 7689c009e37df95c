import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService, type TestService } from "../support/test-service.js";

/** `POST /api/models/check`: validation without storing, with each problem's line (the dashboard's editor). */
describe.each(DATABASE_KINDS)("model check on %s", (kind) => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService(kind);
  });
  afterAll(async () => {
    await service.close();
  });

  it("summarizes a valid model and stores nothing", async () => {
    const source = readFileSync("models/default.yaml", "utf8");
    const r = await service.api("POST", "/api/models/check", { source });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true, name: "default-b2b", groups: expect.arrayContaining(["fit"]) });
    expect(r.body.mqlThresholds).toContainEqual({ group: "engagement", value: 50 });
    expect((await service.api("GET", "/api/models")).body).toHaveLength(1);
  });

  it("names the path and the line of each problem", async () => {
    const source = readFileSync("models/default.yaml", "utf8").replace(
      "{ score: engagement, gte: 50 }",
      "{ score: engagment, gte: 50 }",
    );
    const line = source.split("\n").findIndex((l) => l.includes("engagment")) + 1;
    const r = await service.api("POST", "/api/models/check", { source });
    expect(r.status).toBe(422);
    expect(r.body.error).toBe("MODEL_INVALID");
    expect(r.body.details).toContainEqual(expect.objectContaining({ line }));
  });
});
