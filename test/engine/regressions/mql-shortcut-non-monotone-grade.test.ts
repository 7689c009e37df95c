import { expect, it } from "vitest";
import { compileModel, evaluate, loadModel } from "../../../src/engine/index.js";
import { identify, page, track, yaml } from "./helpers.js";

/**
 * The MQL-check shortcut assumes a failed check stays failed while no points arrive. That holds
 * only for conditions that more points cannot falsify. `grade: [C]` can: when fit points decay,
 * a B lead becomes a C lead with no new input giving points, and must then qualify.
 */
const text = yaml(`
rules:
  - { id: form, match: Form Submitted, points: 5 }
  - { id: fit-boost, group: fit, match: Case Study Read, points: 40, decay: { halfLife: 1d } }
grades: { A: 60, B: 30, C: 10 }
qualification:
  mql:
    all: [{ score: engagement, gte: 1 }, { grade: [C] }]
`);

it("a decaying fit score that enters the grade band qualifies at the next input", () => {
  const inputs = [
    identify("i1", "2026-05-01T00:00:00Z", { email: "kai@acme.com" }),
    track("c1", "2026-05-01T00:00:01Z", "Case Study Read"),
    track("f1", "2026-05-01T00:00:02Z", "Form Submitted"),
    // Two days later fit is worth 10: grade C. This page view gives no points.
    page("p1", "2026-05-03T00:00:02Z", "/blog"),
  ];
  const t = Date.parse("2026-05-03T00:00:02Z");
  for (const shortcuts of [true, false]) {
    const m = compileModel(loadModel(text), { shortcuts });
    expect(m.mqlMonotone).toBe(false);
    const e = evaluate(m, inputs, t);
    expect(e.grade).toBe("C");
    expect(e.transitions.at(-1)).toMatchObject({ from: "lead", to: "mql", inputId: "p1" });
  }
});
