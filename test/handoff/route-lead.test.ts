import { describe, expect, it } from "vitest";
import type { QualifyError } from "../../src/errors.js";
import { slaDue } from "../../src/handoff/assign-handoff.js";
import { type Candidate, type LeadToRoute, routeLead } from "../../src/handoff/route-lead.js";
import { compileRouting, loadRouting, type Team } from "../../src/handoff/routing-spec.js";

/** Routing decisions, pure: who gets an MQL, and why the others were passed over. */

const ROUTING = `
teams:
  enterprise:
    timeZone: America/New_York
    hours: { mon: ["09:00-18:00"], tue: ["09:00-18:00"], wed: ["09:00-18:00"], thu: ["09:00-18:00"], fri: ["09:00-18:00"] }
    sla: { businessHours: 4 }
    handRaiserSla: { businessHours: 1 }
  emea:
    timeZone: Europe/Berlin
    hours: { mon: ["09:00-17:00"], tue: ["09:00-17:00"], wed: ["09:00-17:00"], thu: ["09:00-17:00"], fri: ["09:00-17:00"] }
    pick: least-load
    sla: { businessHours: 8 }
  queue:
    timeZone: UTC
    hours: { mon: ["00:00-24:00"], tue: ["00:00-24:00"], wed: ["00:00-24:00"], thu: ["00:00-24:00"], fri: ["00:00-24:00"] }
rules:
  - id: emea
    when: { trait: country, in: [DE, FR, GB] }
    team: emea
  - id: enterprise
    when: { any: [{ account: employees, gte: 1000 }, { trait: company_size, gte: 1000 }] }
    team: enterprise
    sla: { minutes: 90 }
fallback: { team: queue }
`;

const routing = compileRouting(loadRouting(ROUTING));

function person(id: string, teams: string[], opts: Partial<Candidate> & { load?: number } = {}): Candidate {
  return {
    id,
    email: `${id}@corp.example`,
    teams,
    available: true,
    weeklyCapacity: null,
    assignedThisWeek: () => opts.load ?? 0,
    ...opts,
  };
}

const lead = (traits: LeadToRoute["traits"], handRaiser = false): LeadToRoute => ({
  traits,
  scores: { engagement: 60, fit: 50 },
  grade: "B",
  handRaiser,
});

const ann = person("ann", ["enterprise"]);
const ben = person("ben", ["enterprise"]);
const cat = person("cat", ["emea"], { load: 5 });
const dan = person("dan", ["emea"], { load: 2 });
const quinn = person("quinn", ["queue"]);
const everyone = [ann, ben, cat, dan, quinn];

describe("routeLead", () => {
  it("takes the first rule that matches and round-robins within its team", () => {
    const big = lead({ company_size: 5000 });
    const first = routeLead(routing, big, null, everyone, new Map());
    expect(first).toMatchObject({ ownerEmail: "ann@corp.example", team: "enterprise", rule: "enterprise" });
    expect(first.why).toContain("company_size");
    // The rule's own SLA wins over the team's.
    expect(first.sla).toEqual({ basis: "elapsed", minutes: 90 });
    const second = routeLead(routing, big, null, everyone, new Map([["enterprise", ann.id]]));
    expect(second.ownerEmail).toBe("ben@corp.example");
    const third = routeLead(routing, big, null, everyone, new Map([["enterprise", ben.id]]));
    expect(third.ownerEmail).toBe("ann@corp.example");
  });

  it("least load picks the member with the fewest handoffs this week", () => {
    const d = routeLead(routing, lead({ country: "DE" }), null, everyone, new Map());
    expect(d).toMatchObject({ ownerEmail: "dan@corp.example", team: "emea", rule: "emea" });
    expect(d.sla).toEqual({ basis: "business", minutes: 480 });
  });

  it("skips the unavailable and those at capacity, and says so", () => {
    const away = { ...ann, available: false };
    const full = { ...ben, weeklyCapacity: 3, assignedThisWeek: () => 3 };
    const d = routeLead(routing, lead({ company_size: 5000 }), null, [away, full, quinn], new Map());
    expect(d).toMatchObject({ ownerEmail: "quinn@corp.example", team: "queue", rule: "fallback" });
    expect(d.skipped).toEqual([
      { owner: "ann@corp.example", team: "enterprise", reason: "unavailable" },
      { owner: "ben@corp.example", team: "enterprise", reason: "at capacity (3/3 this week)" },
      {
        rule: "enterprise",
        team: "enterprise",
        reason: expect.stringContaining("nobody in enterprise is free"),
      },
    ]);
    // The fallback team sets no SLA: the handoff has no due time.
    expect(d.sla).toBeNull();
  });

  it("leaves the lead in the fallback queue when nobody at all is free", () => {
    const d = routeLead(routing, lead({}), null, [{ ...quinn, available: false }], new Map());
    expect(d).toMatchObject({ ownerId: null, team: "queue", rule: "fallback" });
    expect(d.why).toContain("nobody is free");
  });

  it("an account's owner gets its leads first; a customer account's leads never go to new business", () => {
    const account = { id: "acct-1", traits: { employees: 5000 }, ownerId: ben.id, customer: false };
    const d = routeLead(
      routing,
      lead({ country: "DE" }),
      account,
      everyone,
      new Map([["enterprise", ann.id]]),
    );
    expect(d).toMatchObject({ ownerEmail: "ben@corp.example", rule: "account-owner", team: "enterprise" });
    expect(d.why).toBe("account acct-1 is owned by ben@corp.example");
    const customer = routeLead(routing, lead({}), { ...account, customer: true }, everyone, new Map());
    expect(customer.why).toBe("customer account acct-1 is owned by ben@corp.example");
    // Away: the lead is routed by the rules, and the decision says why the owner was passed over.
    const away = routeLead(routing, lead({}), account, [{ ...ben, available: false }, ann, quinn], new Map());
    expect(away.rule).toBe("enterprise");
    expect(away.skipped[0]).toEqual({
      owner: "ben@corp.example",
      rule: "account-owner",
      reason: "unavailable",
    });
  });

  it("a hand-raiser gets the shorter SLA", () => {
    const plain = compileRouting(loadRouting(ROUTING.replace("    sla: { minutes: 90 }\n", "")));
    const d = routeLead(plain, lead({ company_size: 5000 }, true), null, everyone, new Map());
    expect(d.sla).toEqual({ basis: "business", minutes: 60 });
  });

  it("is due Monday 12:30 for a 4-business-hour SLA on an MQL at Friday 17:30 (09:00–18:00)", () => {
    const team = routing.teams.get("enterprise") as Team;
    const friday = Date.parse("2026-11-27T17:30:00-05:00");
    expect(new Date(slaDue(team, { basis: "business", minutes: 240 }, friday) as number).toISOString()).toBe(
      new Date(Date.parse("2026-11-30T12:30:00-05:00")).toISOString(),
    );
  });
});

describe("loadRouting", () => {
  it("names the field, the line and the reason of each problem", () => {
    const bad = `teams:
  sales:
    timeZone: Mars/Olympus
    hours: { mon: ["09:00-18:00"] }
rules:
  - id: r1
    team: nobody
    when: { trait: country, in: DE }
fallback: { team: sales }
`;
    try {
      loadRouting(bad, "routing.yaml");
      expect.unreachable();
    } catch (e) {
      const err = e as QualifyError;
      expect(err.code).toBe("ROUTING_INVALID");
      const byPath = Object.fromEntries(err.details.map((d) => [d.path, d]));
      expect(byPath["teams.sales.timeZone"]?.line).toBe(3);
      expect(byPath["rules[0].team"]).toMatchObject({ line: 7, message: "no team 'nobody' in teams" });
      expect(byPath["rules[0].when.in"]?.line).toBe(8);
    }
  });
});
