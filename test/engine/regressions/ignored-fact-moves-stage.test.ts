import { expect, it } from "vitest";
import { evaluate, parseModel } from "../../../src/engine/index.js";
import { fact, identify, T, track, yaml } from "./helpers.js";

/**
 * "A fact that is not allowed from the current stage changes no stage and is listed in `ignored`."
 * Before the refactor, checkInput returned as soon as it ignored a fact. applyFact
 * (src/engine/lifecycle.ts:147-163, called at :191) now only returns from itself, so checkInput goes on to run the
 * disqualifier, lead and MQL checks for the ignored fact: here a CRM `accepted` that is not
 * allowed from `recycled` is listed as ignored and also re-qualifies the lead.
 */
const model = parseModel(
  yaml(`
rules:
  - { id: webinar, match: Webinar Attended, points: 60 }
qualification:
  mql: { score: engagement, gte: 50 }
recycle: { reset: [], cooldown: 1d }
`),
);

it("an ignored fact changes no stage", () => {
  const e = evaluate(
    model,
    [
      identify("i1", "2026-01-01T00:00:00Z", { email: "kim@acme.com" }),
      track("w1", "2026-01-01T00:00:01Z", "Webinar Attended"),
      fact("f1", "2026-01-02T00:00:00Z", "rejected"),
      // After the cooldown; `accepted` is not allowed from recycled.
      fact("f2", "2026-01-05T00:00:00Z", "accepted", "crm"),
    ],
    T("2026-01-06T00:00:00Z"),
  );
  expect(e.ignored.map((i) => i.inputId)).toEqual(["f2"]);
  expect(e.transitions.filter((t) => t.inputId === "f2")).toEqual([]);
  expect(e.stage).toBe("recycled");
});
