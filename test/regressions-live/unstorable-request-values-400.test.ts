import { describe, expect, it } from "vitest";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService } from "../support/test-service.js";

/**
 * Regression: a lead id, query parameter or name holding U+0000, or a model version out of the
 * integer range, reached the database and came back as a 500. Fixed in http-errors.ts: the
 * database's data exceptions for such values are a 400 INPUT_INVALID.
 */

describe.each(DATABASE_KINDS)("values the database refuses are a 400, not a 500 (%s)", (kind) => {
  it("answers 400 for U+0000 in ids, query parameters and names, and for an out-of-range version", async () => {
    const s = await startTestService(kind);
    try {
      for (const path of [
        "/api/leads/%00",
        "/api/leads/%00/explain",
        "/api/leads?q=%00",
        "/api/leads?userId=%00",
        "/api/leads?email=%00",
        "/api/leads?stage=%00",
        "/api/leads?score=%00&minScore=1",
        "/api/models/99999999999",
        "/api/models/99999999999/preview",
      ]) {
        const res = await s.api("GET", path);
        expect(res.status, path).toBe(400);
        expect(res.body.error, path).toBe("INPUT_INVALID");
      }
      expect((await s.api("POST", "/api/keys", { name: "a\u0000b" })).status).toBe(400);
      expect((await s.api("POST", "/api/tokens", { user: "admin@localhost", name: "a\u0000b" })).status).toBe(
        400,
      );
      expect((await s.api("POST", "/api/leads/%00/stage", { fact: "accepted" })).status).toBe(400);
    } finally {
      await s.close();
    }
  });
});
