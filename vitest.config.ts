import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/build-once.ts", "test/support/database-template.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // `expect.poll` waits for a server to finish work (a rollup, a routing job, a page's
    // fetch). Its 1 s default is a timing assertion on a loaded CI machine; this is a ceiling.
    expect: { poll: { timeout: 15_000 } },
  },
});
