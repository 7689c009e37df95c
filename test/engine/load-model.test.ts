import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseModel } from "../../src/engine/index.js";
import { modelErrors } from "../support/model-errors.js";

describe("loading a model", () => {
  it("accepts the default model", () => {
    const m = parseModel(readFileSync("models/default.yaml", "utf8"));
    expect(m.key).toBe("default-b2b@1");
    expect(m.groups.map((g) => g.name)).toEqual(["engagement", "fit"]);
  });

  it("reports every error with the line of the offending node itself", () => {
    const yaml = [
      "name: bad", //                                   1
      "version: 1", //                                  2
      "rules:", //                                      3
      "  - id: ok-rule", //                             4
      "    match: Webinar Attended", //                 5
      "    points: 10", //                              6
      "  - id: decays", //                              7
      "    match: Asset Downloaded", //                 8
      "    points: 5", //                               9
      "    decay:", //                                  10
      "      halfLife: 30", //                          11
      "  - id: typo", //                                12
      "    match:", //                                  13
      "      type: page", //                            14
      "      where: { property: path, prefx: /p }", //  15
      "    pionts: 3", //                               16
      "qualification:", //                              17
      "  mql:", //                                      18
      "    all:", //                                    19
      "      - { score: engagement, gte: 50 }", //      20
      "      - { score: nosuch, gte: 1 }", //           21
      "  disqualifiers:", //                            22
      "    - id: student", //                           23
      "      mode: sometimes", //                       24
      "      when: { trait: title, contains: student }", // 25
    ].join("\n");
    const errors = modelErrors(yaml);
    expect(errors).toEqual([
      { line: 11, path: "rules[1].decay.halfLife", message: "expected a duration like 30d, got '30'" },
      // A missing field points at the object that lacks it.
      { line: 12, path: "rules[2].points", message: "is required" },
      { line: 15, path: "rules[2].match.where.prefx", message: expect.stringMatching(/^unknown operator/) },
      { line: 16, path: "rules[2].pionts", message: "unknown field" },
      { line: 21, path: "qualification.mql.all[1].score", message: "unknown score group 'nosuch'" },
      {
        line: 24,
        path: "qualification.disqualifiers[0].mode",
        message: "expected block or terminal, got 'sometimes'",
      },
    ]);
  });

  it("checks references across the model once its shape is valid", () => {
    const yaml = [
      "name: refs", //                                  1
      "version: 2", //                                  2
      "rules:", //                                      3
      "  - id: same", //                                4
      "    group: product-x", //                        5
      "    match: A", //                                6
      "    points: 1", //                               7
      "  - id: same", //                                8
      "    match: B", //                                9
      "    points: 1", //                               10
      "qualification:", //                              11
      "  mql: { score: ghost, gte: 1 }", //             12
      "recycle:", //                                    13
      "  reset: [engagement]", //                       14
      "  keep: [engagement]", //                        15
    ].join("\n");
    expect(modelErrors(yaml)).toEqual([
      {
        line: 5,
        path: "rules[0].group",
        message: "unknown score group 'product-x'; declare it under groups",
      },
      { line: 8, path: "rules[1].id", message: "duplicate id 'same', already used by rules.0" },
      { line: 12, path: "qualification.mql.score", message: "unknown score group 'ghost'" },
      { line: 15, path: "recycle.keep[0]", message: "'engagement' cannot be both reset and kept" },
    ]);
  });

  it("rejects caps on negative rules, bad regexes and misplaced subjects", () => {
    const yaml = `name: x
version: 1
rules:
  - id: neg
    match: Unsubscribed
    points: -5
    cap: { points: 5, window: 1d }
fit:
  - id: re
    when: { trait: title, regex: "(" }
    points: 1
  - id: wrong-subject
    when: { score: engagement, gte: 1 }
    points: 1
qualification:
  mql: { grade: E }
`;
    const errors = modelErrors(yaml);
    expect(errors.map((e) => [e.line, e.path])).toEqual([
      [7, "rules[0].cap"],
      [10, "fit[0].when.regex"],
      [13, "fit[1].when.score"],
      [16, "qualification.mql.grade"],
    ]);
    expect(errors[1]?.message).toMatch(/^invalid regular expression/);
    expect(errors[2]?.message).toBe("'score' cannot be used here; use one of trait, account");
  });

  it("reports YAML syntax errors with their line", () => {
    const errors = modelErrors("name: x\nversion: 1\nrules:\n  - id: a\n   bad: [\n");
    expect(errors[0]?.line).toBeGreaterThanOrEqual(4);
  });
});
