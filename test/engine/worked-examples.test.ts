import { describe, expect, it } from "vitest";
import {
  contributionsOf,
  evaluate,
  type Fact,
  type Input,
  type LeadState,
  newLeadState,
  parseModel,
  replay,
  step,
  summarize,
  type Transition,
} from "../../src/engine/index.js";
import { readWorkedExamples, type SendItem } from "../support/worked-examples.js";

/**
 * Runs every worked example of docs/scoring-model.md through the live path (step, and replay for
 * late inputs), and checks each step against a full recompute as well as the expectations.
 */

const ms = (iso: string) => {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) throw new Error(`bad time ${iso}`);
  return t;
};

function toInput(item: SendItem, stepAt: string, n: number): Input {
  const id = item.id ?? `m${String(n).padStart(4, "0")}`;
  const at = ms(item.at ?? stepAt);
  if ("track" in item)
    return { kind: "event", id, at, type: "track", event: item.track, properties: item.properties ?? {} };
  if ("page" in item)
    return {
      kind: "event",
      id,
      at,
      type: "page",
      properties: { path: item.page },
      ...(item.name ? { name: item.name } : {}),
    };
  if ("identify" in item) return { kind: "event", id, at, type: "identify", traits: item.identify };
  if ("group" in item)
    return { kind: "event", id, at, type: "group", groupId: item.group, traits: item.traits ?? {} };
  return {
    kind: "fact",
    id,
    at,
    fact: item.fact as Fact,
    actor: (item.actor ?? "user") as "user" | "crm",
    ...(item.by ? { by: item.by } : {}),
    ...(item.reason ? { reason: item.reason } : {}),
  };
}

function transitionMatches(t: Transition, want: string | Record<string, unknown>) {
  if (typeof want === "string") return expect(`${t.from} → ${t.to}`).toBe(want);
  const norm = Object.fromEntries(
    Object.entries(want).map(([k, v]) => [
      k,
      (k === "at" || k === "triggerAt") && typeof v === "string" ? ms(v) : v,
    ]),
  );
  expect(t).toMatchObject(norm);
}

const withoutIds = (cs: { eventId?: string }[]) => cs.map(({ eventId: _, ...rest }) => rest);

const examples = readWorkedExamples("docs/scoring-model.md");

describe("worked examples in docs/scoring-model.md", () => {
  it("has examples", () => {
    expect(examples.length).toBeGreaterThanOrEqual(14);
  });

  for (const ex of examples) {
    it(ex.title, () => {
      const model = parseModel(ex.modelYaml, ex.title);
      let state: LeadState = newLeadState(model);
      const known: Input[] = [];
      const allTransitions: Transition[] = [];
      let sawLate = false;
      let n = 0;
      for (const [i, s] of ex.steps.entries()) {
        const t = ms(s.at);
        const items = s.send === undefined ? [] : Array.isArray(s.send) ? s.send : [s.send];
        const inputs = items.map((item) => toInput(item, s.at, ++n));
        let r = step(model, state, inputs, t);
        if (r.needsReplayFrom !== undefined) {
          sawLate = true;
          r = replay(model, state, known, inputs, t);
        }
        const done = r as Exclude<typeof r, { needsReplayFrom: number }>;
        state = done.state;
        known.push(...inputs);
        allTransitions.push(...done.transitions);
        const summary = summarize(model, state, t);
        const where = `step ${i + 1} (${s.at})`;

        // Live equals a full recompute, always for scores and contributions.
        const full = evaluate(model, known, t);
        expect(summary.scores, where).toEqual(full.scores);
        expect(summary.grade, where).toBe(full.grade);
        expect(contributionsOf(model, state, t), where).toEqual(withoutIds(full.contributions));
        expect(full.contributions.every((c) => c.kind !== "event" || c.eventId !== undefined)).toBe(true);
        if (!sawLate) expect(allTransitions, where).toEqual(full.transitions);

        const e = s.expect;
        if (!e) continue;
        if (e.scores) expect(summary.scores, where).toMatchObject(e.scores);
        if (e.grade) expect(summary.grade, where).toBe(e.grade);
        if (e.stage) expect(summary.stage, where).toBe(e.stage);
        if (e.qualification) expect(summary.qualification.status, where).toBe(e.qualification);
        if (e.ignored !== undefined) expect(done.ignored.length, where).toBe(e.ignored);
        if (e.contributions) {
          const got = contributionsOf(model, state, t);
          expect(got.length, `${where}: contributions ${JSON.stringify(got)}`).toBe(e.contributions.length);
          e.contributions.forEach((c, k) => {
            expect(got[k], where).toMatchObject(c);
          });
        }
        if (e.transitions) {
          expect(
            done.transitions.map((x) => `${x.from} → ${x.to}`),
            where,
          ).toHaveLength(e.transitions.length);
          e.transitions.forEach((want, k) => {
            transitionMatches(done.transitions[k] as Transition, want);
          });
        }
        // Contributions add up to each score.
        for (const [group, score] of Object.entries(summary.scores)) {
          const sum = contributionsOf(model, state, t)
            .filter((c) => c.group === group)
            .reduce((a, c) => a + Math.round(c.points * 100), 0);
          expect(sum, `${where}: ${group}`).toBe(Math.round(score * 100));
        }
      }
    });
  }
});
