import { describe, expect, it } from "vitest";
import { modelErrors } from "../../support/model-errors.js";

describe("validation errors", () => {
  it("a bad group name gets the id message, not zod's 'Invalid key in record'", () => {
    const errs = modelErrors(
      [
        "name: x",
        "version: 1",
        "groups:",
        "  Product: { cap: 10 }",
        "qualification:",
        "  mql: { score: engagement, gte: 1 }",
      ].join("\n"),
    );
    expect(errs).toEqual([
      { line: 4, path: "groups.Product", message: expect.stringMatching(/expected a group name/) },
    ]);
  });

  it("an unknown field whose value is a block mapping is reported on the key's line", () => {
    const errs = modelErrors(
      [
        "name: x",
        "version: 1",
        "rules:",
        "  - id: r",
        "    match: A",
        "    points: 1",
        "    extra:",
        "      foo: 1",
        "qualification:",
        "  mql: { score: engagement, gte: 1 }",
      ].join("\n"),
    );
    expect(errs).toEqual([{ line: 7, path: "rules[0].extra", message: "unknown field" }]);
  });

  it("reports every error: reference errors are not hidden by a schema error elsewhere", () => {
    const errs = modelErrors(
      [
        "name: x",
        "version: 1",
        "rules:",
        "  - { id: same, match: A, points: 1 }",
        "  - { id: same, match: B, points: 1 }",
        "fit:",
        "  - { id: f, when: { trait: t, exists: true }, pionts: 1 }",
        "qualification:",
        "  mql: { score: engagement, gte: 1 }",
      ].join("\n"),
    );
    expect(errs.map((e) => e.path)).toContain("rules[1].id");
  });

  it("a name given as a number is not reported as missing", () => {
    const errs = modelErrors(
      ["name: 3", "version: 1", "qualification:", "  mql: { score: engagement, gte: 1 }"].join("\n"),
    );
    expect(errs[0]?.message).not.toMatch(/is required/);
  });

  it("rule ids cap and floor are reserved for group clamps", () => {
    const errs = modelErrors(
      [
        "name: x",
        "version: 1",
        "rules:",
        "  - { id: cap, match: A, points: 1 }",
        "qualification:",
        "  mql: { score: engagement, gte: 1 }",
      ].join("\n"),
    );
    expect(errs).toEqual([
      { line: 4, path: "rules[0].id", message: "'cap' is reserved for group clamps; choose another id" },
    ]);
  });
});
