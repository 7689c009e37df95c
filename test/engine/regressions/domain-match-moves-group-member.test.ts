import { expect, it } from "vitest";
import { evaluate, type Input, newLeadState, parseModel, replay } from "../../../src/engine/index.js";
import { yaml } from "./helpers.js";

/**
 * An account input with `member` (a match by email domain) moved any lead to its account, so the
 * order of inputs by time decided the account: a lead's own `group` call followed by an older
 * identify's domain match, once merged or replayed, was scored by the implicit domain account,
 * while the lead row showed its group account (the randomized live test found both). A domain match
 * never moves a lead that made a group call, and an implicit account never takes a lead from a
 * named one; otherwise the latest match by time wins.
 */
const m = parseModel(
  yaml(`
fit:
  - { id: big, when: { account: employees, gte: 500 }, points: 20 }
qualification:
  mql: { score: engagement, gte: 50 }
`),
);
const T = Date.parse("2026-01-01T00:00:00Z");
const group = (at: number, groupId: string, employees: number): Input => ({
  kind: "event",
  id: `g${at}`,
  at,
  type: "group",
  groupId,
  traits: { employees },
});
const match = (at: number, groupId: string, employees: number, implicit = false): Input => ({
  kind: "account",
  id: `a${at}`,
  at,
  groupId,
  traits: { employees },
  member: true,
  ...(implicit ? { implicit } : {}),
});
/** The account the engine scores by, and the fit from it; a replay agrees with a full evaluation. */
const account = (inputs: Input[]) => {
  const { state } = replay(m, newLeadState(m), [], inputs, T + 100);
  return { fit: evaluate(m, inputs, T + 100).scores.fit, gid: state.s.gid };
};

it("a lead's own group call outranks a later domain match", () => {
  expect(account([group(T + 1, "acme", 900), match(T + 2, "domain:acme.com", 1, true)])).toEqual({
    fit: 20,
    gid: "acme",
  });
  expect(account([group(T + 1, "acme", 900), match(T + 2, "initech", 1)])).toEqual({ fit: 20, gid: "acme" });
});

it("an implicit domain account never takes a lead from a named one; a named one takes it from an implicit one", () => {
  expect(account([match(T + 1, "acme", 900), match(T + 2, "domain:acme.com", 1, true)])).toEqual({
    fit: 20,
    gid: "acme",
  });
  expect(account([match(T + 1, "domain:acme.com", 1, true), match(T + 2, "acme", 900)])).toEqual({
    fit: 20,
    gid: "acme",
  });
});

it("between matches of one rank, the latest by time wins", () => {
  expect(account([match(T + 2, "initech", 1), match(T + 1, "acme", 900)])).toEqual({
    fit: 0,
    gid: "initech",
  });
});
