import { expect, it } from "vitest";
import { evaluate, newLeadState, parseModel, step, summarize } from "../../../src/engine/index.js";
import { track, yaml } from "./helpers.js";

/**
 * A duplicate messageId counts once. A Segment retry re-sends the same call with the same
 * timestamp and sentAt, but a later receivedAt, so its skew-corrected time differs. step() only
 * recognises a duplicate when it equals the watermark in both time and id (run-engine.ts:119), so a
 * copy with a later time is folded again and scores twice; evaluate() counts it once.
 */
const m = parseModel(
  yaml(`
rules:
  - { id: download, match: Asset Downloaded, points: 10 }
qualification:
  mql: { score: engagement, gte: 50 }
`),
);

it("step counts a re-delivered messageId once, as evaluate does", () => {
  const first = track("m1", "2026-03-01T10:00:00Z", "Asset Downloaded");
  const retry = { ...first, at: first.at + 5_000 }; // same messageId, received 5 s later
  const s1 = step(m, newLeadState(m), [first], first.at);
  if (s1.needsReplayFrom !== undefined) throw new Error("unexpected");
  const s2 = step(m, s1.state, [retry], retry.at);
  if (s2.needsReplayFrom !== undefined) throw new Error("unexpected");
  const full = evaluate(m, [first, retry], retry.at);
  expect(full.scores.engagement).toBe(10);
  expect(summarize(m, s2.state).scores.engagement).toBe(full.scores.engagement);
});
