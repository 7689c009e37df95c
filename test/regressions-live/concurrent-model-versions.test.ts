import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService } from "../support/test-service.js";

/**
 * Regression: two POST /api/models at once read the same max(version) and one failed on the
 * primary key with a 500 (PostgreSQL). Fixed in model-routes.ts: stored under the workspace row's lock.
 */

describe.each(DATABASE_KINDS)("storing model versions concurrently (%s)", (kind) => {
  it("gives each its own version, with no 500", async () => {
    const s = await startTestService(kind);
    try {
      const source = readFileSync("models/default.yaml", "utf8");
      const answers = await Promise.all([1, 2, 3, 4].map(() => s.api("POST", "/api/models", { source })));
      expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201]);
      expect(answers.map((a) => a.body.model.version).sort()).toEqual([2, 3, 4, 5]);
    } finally {
      await s.close();
    }
  });
});
