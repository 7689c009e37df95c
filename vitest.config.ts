import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/build-once.ts", "test/support/database-template.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
