import { describe, expect, it } from "vitest";
import { type CompiledModel, evaluate, type LeadState } from "../../src/engine/index.js";
import type { LeadRow } from "../../src/pipeline/lead-record.js";
import {
  type Call,
  leadIdOf,
  leadRow,
  outboxCount,
  processedInputs,
  sendBatch,
  sendOne,
  storedModel,
  storedTransitions,
} from "../support/live-checks.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService, type TestService } from "../support/test-service.js";

/**
 * Identity resolution, merges, accounts, stage facts, erasure and decay on the live service, step
 * by step: each step sends Segment calls over HTTP (or calls the API), lets the pipeline drain,
 * then checks the tables and the API.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse("2026-04-01T09:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

interface World {
  service: TestService;
  clock: { now: number };
  model: CompiledModel;
  /** The live lead of a userId (or anonymousId), through the identities table. */
  lead(id: string, kind?: "user" | "anonymous"): Promise<LeadRow>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read answers loosely
  detail(leadId: string): Promise<any>;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

interface Step {
  /** What the step does, for failure messages. */
  name: string;
  /** Moves the service's clock to this many days after T0 first. */
  day?: number;
  send?: Call[];
  /** Calls sent together in one /v1/batch (so the pipeline takes them in one transaction). */
  batch?: Call[];
  /** Runs after the calls are sent and the pipeline drained. */
  check?: (w: World) => Promise<void>;
}

let counter = 0;
const mid = () => `msg-${++counter}`;
type Ids = { userId?: string; anonymousId?: string };
const page = (ids: Ids, at: number, path = "/pricing"): Call => ({
  type: "page",
  messageId: mid(),
  ...ids,
  timestamp: iso(at),
  properties: { path },
});
const track = (ids: Ids, event: string, at: number, properties: Record<string, unknown> = {}): Call => ({
  type: "track",
  messageId: mid(),
  ...ids,
  event,
  timestamp: iso(at),
  properties,
});
const identify = (ids: Ids, traits: Record<string, unknown>, at: number): Call => ({
  type: "identify",
  messageId: mid(),
  ...ids,
  traits,
  timestamp: iso(at),
});
const group = (ids: Ids, groupId: string, traits: Record<string, unknown>, at: number): Call => ({
  type: "group",
  messageId: mid(),
  ...ids,
  groupId,
  traits,
  timestamp: iso(at),
});
const alias = (userId: string, previousId: string, at: number): Call => ({
  type: "alias",
  messageId: mid(),
  userId,
  previousId,
  timestamp: iso(at),
});
/** Calls that take a known lead (email, a form) to MQL through a hand-raiser. */
const toMql = (userId: string, email: string, at: number): Call[] => [
  identify({ userId }, { email, title: "VP Marketing" }, at),
  track({ userId }, "Form Submitted", at + HOUR),
  track({ userId }, "Demo Requested", at + 2 * HOUR),
];

/** Stored scores equal a recompute of the lead's stored inputs, and its stage is its state's. */
async function expectConsistent(w: World, lead: LeadRow) {
  const inputs = await processedInputs(w.service.service.db, lead.id);
  expect(lead.scores).toEqual(evaluate(w.model, inputs, lead.scores_as_of as number).scores);
  expect(lead.stage).toBe((lead.state as LeadState).l.stage);
}

async function runSteps(kind: "pglite" | "postgres", steps: Step[]): Promise<void> {
  const clock = { now: T0 };
  // No periodic decay sweep: the test sweeps when it means to.
  const service = await startTestService(kind, {
    clock: () => clock.now,
    env: { QUALIFY_DECAY_SWEEP_MINUTES: String(1_000_000) },
  });
  try {
    const db = service.service.db;
    const w: World = {
      service,
      clock,
      model: await storedModel(db),
      async lead(id, kind = "user") {
        const leadId = await leadIdOf(db, id, kind);
        if (leadId === undefined) throw new Error(`no lead for ${kind} ${id}`);
        const row = await leadRow(db, leadId);
        expect(row.merged_into).toBeNull();
        return row;
      },
      async detail(leadId) {
        const res = await service.api("GET", `/api/leads/${leadId}`);
        expect(res.status).toBe(200);
        return res.body;
      },
      query: (sql, params) => db.query(sql, params),
    };
    for (const step of steps) {
      if (step.day !== undefined) clock.now = Math.max(clock.now, T0 + step.day * DAY);
      for (const call of step.send ?? []) await sendOne(service, call);
      if (step.batch) await sendBatch(service, step.batch);
      await service.drain();
      try {
        await step.check?.(w);
      } catch (e) {
        (e as Error).message = `step "${step.name}": ${(e as Error).message}`;
        throw e;
      }
    }
    expect(service.service.pipeline.stats.errors).toBe(0);
  } finally {
    await service.close();
  }
}

describe.each(DATABASE_KINDS)("identity and accounts on %s", (kind) => {
  it("anonymous history joins the lead when the anonymousId is identified", async () => {
    let anonLead = "";
    let userLead = "";
    await runSteps(kind, [
      {
        name: "anonymous page views make an anonymous lead",
        day: 1,
        send: [
          page({ anonymousId: "anon-1" }, T0),
          page({ anonymousId: "anon-1" }, T0 + HOUR, "/pricing/team"),
          page({ anonymousId: "anon-1" }, T0 + 2 * HOUR),
        ],
        async check(w) {
          const lead = await w.lead("anon-1", "anonymous");
          expect(lead.user_id).toBeNull();
          expect(lead.event_count).toBe(3);
          anonLead = lead.id;
        },
      },
      {
        name: "identify with the anonymousId and a userId: the same lead, now known",
        day: 2,
        send: [identify({ userId: "ann", anonymousId: "anon-1" }, { email: "ann@acme.com" }, T0 + DAY)],
        async check(w) {
          const lead = await w.lead("ann");
          expect(lead.id).toBe(anonLead);
          expect(lead.user_id).toBe("ann");
          expect(lead.event_count).toBe(4);
          expect(lead.stage).toBe("subscriber");
          const detail = await w.detail(lead.id);
          expect(detail.userIds).toEqual(["ann"]);
          expect(detail.anonymousIds).toEqual(["anon-1"]);
          // The three pricing visits within a week count.
          const explain = await w.service.api("GET", `/api/leads/${lead.id}/explain`);
          const rules = explain.body.contributions.map((c: { rule: string }) => c.rule);
          expect(rules).toContain("pricing-visits");
          expect(rules).toContain("pricing-visit");
          await expectConsistent(w, lead);
        },
      },
      {
        name: "a known user, and separately an anonymous browser",
        day: 3,
        send: [
          track({ userId: "bob" }, "Webinar Attended", T0 + 2 * DAY),
          page({ anonymousId: "anon-2" }, T0 + 2 * DAY + HOUR),
          page({ anonymousId: "anon-2" }, T0 + 2 * DAY + 2 * HOUR),
        ],
        async check(w) {
          userLead = (await w.lead("bob")).id;
          expect((await w.lead("anon-2", "anonymous")).id).not.toBe(userLead);
        },
      },
      {
        name: "a call with both ids merges the anonymous lead into the known one",
        day: 4,
        send: [page({ userId: "bob", anonymousId: "anon-2" }, T0 + 3 * DAY, "/docs")],
        async check(w) {
          const lead = await w.lead("bob");
          expect(lead.id).toBe(userLead);
          expect((await w.lead("anon-2", "anonymous")).id).toBe(userLead);
          expect(lead.event_count).toBe(4);
          const merges = await w.query<{ from_lead: string; reason: string }>(
            "select from_lead, reason from lead_merges where into_lead = $1",
            [userLead],
          );
          expect(merges).toHaveLength(1);
          expect(merges[0]?.reason).toBe("anonymous anon-2 identified as bob");
          const detail = await w.detail(userLead);
          expect(detail.anonymousIds).toEqual(["anon-2"]);
          expect(detail.mergedFrom).toEqual([merges[0]?.from_lead]);
          // The absorbed lead's id still answers, with the survivor.
          expect((await w.detail(merges[0]?.from_lead as string)).id).toBe(userLead);
          const inputs = await processedInputs(w.service.service.db, userLead);
          expect(inputs.map((i) => i.kind === "event" && i.type)).toEqual(["track", "page", "page", "page"]);
          await expectConsistent(w, lead);
        },
      },
    ]);
  });

  it("two known users merge only through alias; a merge fires no second MQL and keeps the furthest stage", async () => {
    let mqlCount = 0;
    await runSteps(kind, [
      {
        name: "two known users, one browser: no merge",
        day: 1,
        send: [
          identify({ userId: "cat", anonymousId: "anon-c" }, { email: "cat@globex.com" }, T0),
          identify({ userId: "dan" }, { email: "dan@globex.com" }, T0 + HOUR),
          page({ userId: "dan", anonymousId: "anon-c" }, T0 + 2 * HOUR),
        ],
        async check(w) {
          expect((await w.lead("cat")).id).not.toBe((await w.lead("dan")).id);
          expect(await w.query("select * from lead_merges")).toEqual([]);
        },
      },
      {
        name: "alias merges them",
        day: 2,
        send: [alias("cat", "dan", T0 + DAY)],
        async check(w) {
          const cat = await w.lead("cat");
          expect((await w.lead("dan")).id).toBe(cat.id);
          const merged = await w.query<{ payload: { from: string; into: string; reason: string } }>(
            "select payload from outbox where topic = 'lead.merged' and lead_id = $1",
            [cat.id],
          );
          expect(merged).toHaveLength(1);
          expect(merged[0]?.payload).toMatchObject({ into: cat.id, reason: "alias dan → cat" });
          expect((await w.detail(cat.id)).userIds).toEqual(["cat", "dan"]);
          await expectConsistent(w, cat);
        },
      },
      {
        name: "two leads reach MQL",
        day: 3,
        send: [...toMql("eve", "eve@acme.com", T0 + 2 * DAY), ...toMql("fay", "fay@acme.com", T0 + 2 * DAY)],
        async check(w) {
          for (const u of ["eve", "fay"]) {
            const lead = await w.lead(u);
            expect(lead.stage).toBe("mql");
            expect(await outboxCount(w.service.service.db, "lead.mql", lead.id)).toBe(1);
          }
          mqlCount = await outboxCount(w.service.service.db, "lead.mql");
        },
      },
      {
        name: "merging two MQLs fires no second MQL",
        day: 4,
        send: [alias("eve", "fay", T0 + 3 * DAY), track({ userId: "fay" }, "Webinar Attended", T0 + 3 * DAY)],
        async check(w) {
          const eve = await w.lead("eve");
          expect((await w.lead("fay")).id).toBe(eve.id);
          expect(eve.stage).toBe("mql");
          expect(await outboxCount(w.service.service.db, "lead.mql")).toBe(mqlCount);
          const mqls = (await storedTransitions(w.service.service.db, eve.id)).filter((t) => t.to === "mql");
          expect(mqls).toHaveLength(1);
          expect(await outboxCount(w.service.service.db, "lead.merged", eve.id)).toBe(1);
          await expectConsistent(w, eve);
        },
      },
      {
        name: "an MQL merged into a plain lead: the survivor is the MQL, with no new MQL",
        day: 5,
        send: [
          ...toMql("gus", "gus@acme.com", T0 + 4 * DAY),
          identify({ userId: "hal" }, { email: "hal@acme.com" }, T0 + 4 * DAY),
          track({ userId: "hal" }, "Form Submitted", T0 + 4 * DAY + HOUR),
        ],
        async check(w) {
          expect((await w.lead("gus")).stage).toBe("mql");
          expect((await w.lead("hal")).stage).toBe("lead");
          mqlCount = await outboxCount(w.service.service.db, "lead.mql");
        },
      },
      {
        name: "alias gus into hal",
        day: 6,
        send: [alias("hal", "gus", T0 + 5 * DAY)],
        async check(w) {
          const hal = await w.lead("hal");
          expect((await w.lead("gus")).id).toBe(hal.id);
          expect(hal.stage).toBe("mql");
          expect(hal.mql_at).not.toBeNull();
          // The survivor was qualified (through the lead it absorbed).
          expect(hal.first_mql_at).not.toBeNull();
          expect(await outboxCount(w.service.service.db, "lead.mql")).toBe(mqlCount);
          expect((await storedTransitions(w.service.service.db, hal.id)).some((t) => t.to === "mql")).toBe(
            false,
          );
          await expectConsistent(w, hal);
        },
      },
      {
        name: "a lead sales accepted merges with an MQL: it stays with sales",
        day: 7,
        send: [...toMql("ida", "ida@acme.com", T0 + 6 * DAY), ...toMql("jon", "jon@acme.com", T0 + 6 * DAY)],
        async check(w) {
          const ida = await w.lead("ida");
          const res = await w.service.api("POST", `/api/leads/${ida.id}/stage`, { fact: "accepted" });
          expect(res.status).toBe(200);
          expect((await w.lead("ida")).stage).toBe("sal");
          mqlCount = await outboxCount(w.service.service.db, "lead.mql");
        },
      },
      {
        name: "alias ida into jon",
        day: 8,
        send: [alias("jon", "ida", T0 + 7 * DAY)],
        async check(w) {
          const jon = await w.lead("jon");
          expect((await w.lead("ida")).id).toBe(jon.id);
          expect(jon.stage).toBe("sal");
          expect(await outboxCount(w.service.service.db, "lead.mql")).toBe(mqlCount);
          await expectConsistent(w, jon);
        },
      },
    ]);
  });

  it("an anonymousId tied to one user, used by another: a new lead flagged shared-browser", async () => {
    let first = "";
    await runSteps(kind, [
      {
        name: "user A on a browser",
        day: 1,
        send: [
          page({ anonymousId: "anon-shared" }, T0),
          identify({ userId: "kim", anonymousId: "anon-shared" }, { email: "kim@acme.com" }, T0 + HOUR),
          track({ userId: "kim" }, "Webinar Attended", T0 + 2 * HOUR),
        ],
        async check(w) {
          const kim = await w.lead("kim");
          expect(kim.event_count).toBe(3);
          expect(kim.flags).toEqual([]);
          first = kim.id;
        },
      },
      {
        name: "user B on the same browser",
        day: 2,
        send: [
          identify({ userId: "lou", anonymousId: "anon-shared" }, { email: "lou@acme.com" }, T0 + DAY),
          track({ userId: "lou", anonymousId: "anon-shared" }, "Form Submitted", T0 + DAY + HOUR),
        ],
        async check(w) {
          const lou = await w.lead("lou");
          expect(lou.id).not.toBe(first);
          expect(lou.flags).toEqual(["shared-browser"]);
          expect(lou.event_count).toBe(2);
          expect((await w.detail(lou.id)).flags).toEqual(["shared-browser"]);
          expect((await w.detail(lou.id)).anonymousIds).toEqual([]);
          const kim = await w.lead("kim");
          expect(kim.id).toBe(first);
          expect(kim.event_count).toBe(3);
          expect((await w.lead("anon-shared", "anonymous")).id).toBe(first);
          expect((await w.detail(kim.id)).anonymousIds).toEqual(["anon-shared"]);
          expect(await w.query("select * from lead_merges")).toEqual([]);
          await expectConsistent(w, kim);
          await expectConsistent(w, lou);
        },
      },
      {
        name: "anonymous browsing afterwards stays with A",
        day: 3,
        send: [page({ anonymousId: "anon-shared" }, T0 + 2 * DAY)],
        async check(w) {
          expect((await w.lead("kim")).event_count).toBe(4);
          expect((await w.lead("lou")).event_count).toBe(2);
        },
      },
    ]);
  });

  it("accounts: group calls, company email domains, free mail, and account changes rescore members", async () => {
    const fitOf = (l: LeadRow) => l.scores.fit as number;
    let before: Record<string, number> = {};
    let heard: Record<string, number> = {};
    const accountInputs = async (w: World, u: string) =>
      (await processedInputs(w.service.service.db, (await w.lead(u)).id)).filter((i) => i.kind === "account")
        .length;
    await runSteps(kind, [
      {
        name: "a group call links the lead to the account",
        day: 1,
        send: [
          identify({ userId: "max" }, { email: "max@initech.io", title: "Engineer" }, T0),
          group(
            { userId: "max" },
            "acc-initech",
            { name: "Initech", employees: 30, industry: "software", domain: "initech.io" },
            T0 + HOUR,
          ),
        ],
        async check(w) {
          const max = await w.lead("max");
          expect(max.account_id).toBe("acc-initech");
          expect(max.account_source).toBe("group");
          const account = (await w.detail(max.id)).account;
          expect(account).toMatchObject({
            id: "acc-initech",
            source: "group",
            domain: "initech.io",
            traits: { name: "Initech", employees: 30, industry: "software", domain: "initech.io" },
          });
          expect(account.matchedBy).toBeUndefined();
          // known email 10, 10-49 employees 5, software 20
          expect(fitOf(max)).toBe(35);
          await expectConsistent(w, max);
        },
      },
      {
        name: "a colleague with a company email joins by domain; free mail joins nothing",
        day: 2,
        send: [
          identify({ userId: "ned" }, { email: "ned@initech.io" }, T0 + DAY),
          identify({ userId: "oli" }, { email: "oli@gmail.com" }, T0 + DAY),
        ],
        async check(w) {
          const ned = await w.lead("ned");
          expect(ned.account_id).toBe("acc-initech");
          expect(ned.account_source).toBe("domain");
          const account = (await w.detail(ned.id)).account;
          expect(account).toMatchObject({
            id: "acc-initech",
            source: "domain",
            matchedBy: "email domain initech.io",
          });
          // The account's traits reached the engine: company size and industry count for ned too.
          expect(fitOf(ned)).toBe(35);
          const oli = await w.lead("oli");
          expect(oli.account_id).toBeNull();
          expect(oli.email_domain).toBeNull();
          expect((await w.detail(oli.id)).account).toBeNull();
          // known email 10, free mail -15
          expect(fitOf(oli)).toBe(-5);
          before = { max: fitOf(await w.lead("max")), ned: fitOf(ned) };
          await expectConsistent(w, ned);
          await expectConsistent(w, oli);
        },
      },
      {
        name: "another member's group call changes the account: every member is rescored",
        day: 3,
        send: [
          identify({ userId: "pam" }, { email: "pam@initech.io" }, T0 + 2 * DAY),
          group({ userId: "pam" }, "acc-initech", { employees: 1200 }, T0 + 2 * DAY + HOUR),
        ],
        async check(w) {
          const traits = (
            await w.query<{ traits: Record<string, unknown> }>(
              "select traits from accounts where id = 'acc-initech'",
            )
          )[0]?.traits;
          expect(traits).toMatchObject({ employees: 1200, industry: "software" });
          for (const u of ["max", "ned", "pam"]) {
            const lead = await w.lead(u);
            expect(lead.account_id, u).toBe("acc-initech");
            const state = lead.state as LeadState;
            const account = state.s.ac.find(([id]) => id === "acc-initech")?.[1];
            expect(account?.employees, u).toBe(1200);
            const explain = await w.service.api("GET", `/api/leads/${lead.id}/explain`);
            const size = explain.body.contributions.find((c: { rule: string }) => c.rule === "company-size");
            expect(size?.label, u).toBe("1000+");
            await expectConsistent(w, lead);
          }
          // 1000+ employees is 30 points, not 5.
          expect(fitOf(await w.lead("max"))).toBe((before.max as number) + 25);
          expect(fitOf(await w.lead("ned"))).toBe((before.ned as number) + 25);
          expect(fitOf(await w.lead("pam"))).toBe(60);
          expect((await w.lead("pam")).account_source).toBe("group");
          expect(fitOf(await w.lead("oli"))).toBe(-5);
          heard = { ned: await accountInputs(w, "ned"), pam: await accountInputs(w, "pam") };
        },
      },
      {
        name: "a group call that repeats the account's traits tells no other member",
        day: 4,
        send: [
          group({ userId: "max" }, "acc-initech", { employees: 1200, industry: "software" }, T0 + 3 * DAY),
        ],
        async check(w) {
          expect(await accountInputs(w, "ned")).toBe(heard.ned);
          expect(await accountInputs(w, "pam")).toBe(heard.pam);
          expect(fitOf(await w.lead("ned"))).toBe((before.ned as number) + 25);
        },
      },
    ]);
  });

  it("accounts: colleagues who arrive before the account, or with it, take its traits", async () => {
    const expectHooli = async (w: World, u: string, fit: number) => {
      const lead = await w.lead(u);
      expect(lead.account_id, u).toBe("acc-hooli");
      expect(lead.account_source, u).toBe("domain");
      const state = lead.state as LeadState;
      expect(state.s.gid, u).toBe("acc-hooli");
      expect(state.s.ac.find(([id]) => id === "acc-hooli")?.[1], u).toMatchObject({ employees: 500 });
      // known email 10, 200-999 employees 25, saas 20
      expect(lead.scores.fit, u).toBe(fit);
      await expectConsistent(w, lead);
    };
    await runSteps(kind, [
      {
        name: "a company email before any account names the domain: an implicit domain account",
        day: 1,
        send: [identify({ userId: "vic" }, { email: "vic@hooli.dev" }, T0)],
        async check(w) {
          const vic = await w.lead("vic");
          expect(vic.account_id).toBe("domain:hooli.dev");
          expect(vic.account_source).toBe("domain");
        },
      },
      {
        name: "a group call naming the domain takes the colleague over, with its traits",
        day: 2,
        send: [
          identify({ userId: "wes" }, { email: "wes@hooli.dev" }, T0 + DAY),
          group(
            { userId: "wes" },
            "acc-hooli",
            { name: "Hooli", employees: 500, industry: "saas", domain: "hooli.dev" },
            T0 + DAY + HOUR,
          ),
        ],
        async check(w) {
          await expectHooli(w, "vic", 55);
          expect((await w.lead("wes")).account_source).toBe("group");
        },
      },
      {
        name: "a colleague whose first call is in the same batch as a member's group call",
        day: 3,
        batch: [
          identify({ userId: "xia" }, { email: "xia@hooli.dev" }, T0 + 2 * DAY),
          group({ userId: "wes" }, "acc-hooli", { plan: "enterprise" }, T0 + 2 * DAY + HOUR),
        ],
        async check(w) {
          await expectHooli(w, "xia", 55);
          await expectHooli(w, "vic", 55);
        },
      },
      {
        name: "a group call without a domain, in the same batch as leads without a company domain",
        day: 4,
        batch: [
          page({ anonymousId: "anon-nodomain" }, T0 + 3 * DAY),
          identify({ userId: "dee" }, { email: "dee@gmail.com" }, T0 + 3 * DAY),
          group({ userId: "cy" }, "acc-nodomain", { employees: 50 }, T0 + 3 * DAY + HOUR),
        ],
        async check(w) {
          expect((await w.lead("cy")).account_id).toBe("acc-nodomain");
          for (const lead of [await w.lead("anon-nodomain", "anonymous"), await w.lead("dee")]) {
            expect(lead.account_id, lead.id).toBeNull();
            expect(lead.account_source, lead.id).toBeNull();
            expect((await w.detail(lead.id)).account).toBeNull();
          }
        },
      },
      {
        name: "a colleague's first call in the same batch as the group call that makes the account",
        day: 4,
        batch: [
          identify({ userId: "ada" }, { email: "ada@pied.io" }, T0 + 3 * DAY),
          group(
            { userId: "bea" },
            "acc-pied",
            { name: "Pied", employees: 300, industry: "saas", domain: "pied.io" },
            T0 + 3 * DAY + HOUR,
          ),
        ],
        async check(w) {
          const ada = await w.lead("ada");
          expect(ada.account_id).toBe("acc-pied");
          expect(ada.account_source).toBe("domain");
          expect((ada.state as LeadState).s.ac.find(([id]) => id === "acc-pied")?.[1]).toMatchObject({
            employees: 300,
          });
          expect(ada.scores.fit).toBe(55);
          await expectConsistent(w, ada);
        },
      },
      {
        name: "a new member changes the account in the same batch as a colleague's first call",
        day: 5,
        batch: [
          identify({ userId: "yan" }, { email: "yan@hooli.dev" }, T0 + 4 * DAY),
          group({ userId: "zoe" }, "acc-hooli", { employees: 2000 }, T0 + 4 * DAY + HOUR),
        ],
        async check(w) {
          // 1000+ employees: 30 points.
          for (const u of ["vic", "xia", "yan"]) {
            const lead = await w.lead(u);
            expect(lead.account_id, u).toBe("acc-hooli");
            expect((lead.state as LeadState).s.ac.find(([id]) => id === "acc-hooli")?.[1], u).toMatchObject({
              employees: 2000,
            });
            expect(lead.scores.fit, u).toBe(60);
            await expectConsistent(w, lead);
          }
          const zoe = await w.lead("zoe");
          expect(zoe.account_source).toBe("group");
          // No email: 1000+ employees 30, saas 20 (the account's industry, which the call did not repeat).
          expect(zoe.scores.fit).toBe(50);
          await expectConsistent(w, zoe);
        },
      },
    ]);
  });

  it("stage facts through the API: accepted moves an MQL to SAL; an illegal move is a 409", async () => {
    await runSteps(kind, [
      {
        name: "a lead reaches MQL",
        day: 1,
        send: [
          ...toMql("quinn", "quinn@acme.com", T0),
          identify({ userId: "rex" }, { email: "rex@acme.com" }, T0),
        ],
        async check(w) {
          expect((await w.lead("quinn")).stage).toBe("mql");
        },
      },
      {
        name: "sales accepts it",
        day: 2,
        async check(w) {
          const quinn = await w.lead("quinn");
          const res = await w.service.api("POST", `/api/leads/${quinn.id}/stage`, {
            fact: "accepted",
            reason: "called back",
          });
          expect(res.status).toBe(200);
          expect(res.body.lead.stage).toBe("sal");
          expect(res.body.transitions).toMatchObject([
            { from: "mql", to: "sal", actor: "user", by: "admin@localhost" },
          ]);
          const history = (await w.detail(quinn.id)).history;
          expect(history.at(-1)).toMatchObject({
            from: "mql",
            to: "sal",
            actor: "user",
            by: "admin@localhost",
            at: iso(T0 + 2 * DAY),
          });
          expect(history.at(-1).reason).toContain("called back");
          const after = await w.lead("quinn");
          expect(after.stage).toBe("sal");
          await expectConsistent(w, after);
        },
      },
      {
        name: "accepting again, and converting a subscriber, are refused",
        day: 3,
        async check(w) {
          const quinn = await w.lead("quinn");
          const again = await w.service.api("POST", `/api/leads/${quinn.id}/stage`, { fact: "accepted" });
          expect(again.status).toBe(409);
          expect(again.body.error).toBe("CONFLICT");
          const rex = await w.lead("rex");
          const convert = await w.service.api("POST", `/api/leads/${rex.id}/stage`, { fact: "converted" });
          expect(convert.status).toBe(409);
          expect((await w.lead("quinn")).stage).toBe("sal");
          expect((await w.lead("rex")).stage).toBe("subscriber");
          const unknown = await w.service.api("POST", "/api/leads/no-such-lead/stage", { fact: "accepted" });
          expect(unknown.status).toBe(404);
        },
      },
    ]);
  });

  it("erasure removes the lead's data, keeps counts, and a later event does not bring it back", async () => {
    let erased = "";
    const retry = identify(
      { userId: "sue", anonymousId: "anon-sue" },
      { email: "sue@acme.com" },
      T0 + 2 * HOUR,
    );
    await runSteps(kind, [
      {
        name: "a lead with history and a merged anonymous lead",
        day: 1,
        send: [
          page({ anonymousId: "anon-sue" }, T0),
          track({ userId: "sue" }, "Form Submitted", T0 + HOUR),
          retry,
          track({ userId: "sue" }, "Demo Requested", T0 + 3 * HOUR),
          track({ userId: "tom" }, "Webinar Attended", T0 + 3 * HOUR),
        ],
        async check(w) {
          const sue = await w.lead("sue");
          expect(sue.stage).toBe("mql");
          erased = sue.id;
        },
      },
      {
        name: "DELETE erases it",
        day: 2,
        async check(w) {
          // Four calls, and the account input of the email's company domain.
          const events = (await processedInputs(w.service.service.db, erased)).length;
          const transitions = (await storedTransitions(w.service.service.db, erased)).length;
          expect(events).toBe(5);
          expect(transitions).toBeGreaterThan(0);
          const res = await w.service.api("DELETE", `/api/leads/${erased}`);
          expect(res.status).toBe(200);
          expect(res.body.erased).toHaveLength(2);
          expect(res.body).toMatchObject({ eventsDeleted: events, transitionsDeleted: transitions });
          for (const table of ["events", "transitions", "identities", "outbox"])
            expect(
              await w.query(`select * from ${table} where lead_id = any($1)`, [res.body.erased]),
              table,
            ).toEqual([]);
          expect(await w.query("select * from leads where id = any($1)", [res.body.erased])).toEqual([]);
          expect(await w.query("select * from lead_merges")).toEqual([]);
          expect(await w.query("select * from identities where value in ('sue', 'anon-sue')")).toEqual([]);
          const erasures = await w.query(
            "select stage, was_mql, events_deleted, transitions_deleted from erasures",
          );
          expect(erasures).toEqual([
            { stage: "mql", was_mql: true, events_deleted: events, transitions_deleted: transitions },
          ]);
          expect((await w.service.api("GET", `/api/leads/${erased}`)).status).toBe(404);
          // Someone else's lead is untouched.
          expect((await w.lead("tom")).event_count).toBe(1);
        },
      },
      {
        name: "retries and new events of the erased identities do not recreate the lead",
        day: 3,
        send: [
          track({ userId: "sue" }, "Webinar Attended", T0 + 2 * DAY),
          page({ anonymousId: "anon-sue" }, T0 + 2 * DAY),
          identify({ userId: "sue-2" }, { email: "SUE@acme.com" }, T0 + 2 * DAY),
        ],
        async check(w) {
          // A retry of a call the erased lead had: its row went with the lead, so it is stored again.
          await sendOne(w.service, retry);
          await w.service.drain();
          expect(await leadIdOf(w.service.service.db, "sue")).toBeUndefined();
          expect(await leadIdOf(w.service.service.db, "anon-sue", "anonymous")).toBeUndefined();
          expect(await leadIdOf(w.service.service.db, "sue-2")).toBeUndefined();
          expect(
            await w.query(
              "select * from events where user_id in ('sue', 'sue-2') or anonymous_id = 'anon-sue'",
            ),
          ).toEqual([]);
          const leads = await w.query<{ user_id: string | null }>("select user_id from leads");
          expect(leads).toEqual([{ user_id: "tom" }]);
          expect(await w.query("select * from erasures")).toHaveLength(1);
        },
      },
    ]);
  });

  it("a decay sweep refreshes scores_as_of and lowers engagement", async () => {
    await runSteps(kind, [
      {
        name: "engagement earned",
        day: 1,
        send: [
          identify({ userId: "uma" }, { email: "uma@acme.com", title: "Director of Sales" }, T0),
          track({ userId: "uma" }, "Webinar Attended", T0 + HOUR),
          track({ userId: "uma" }, "Asset Downloaded", T0 + 2 * HOUR, { type: "ebook" }),
        ],
        async check(w) {
          const uma = await w.lead("uma");
          expect(uma.scores_as_of).toBe(T0 + DAY);
          expect(uma.scores.engagement).toBeGreaterThan(29);
          expect(uma.scores.engagement).toBeLessThan(30);
          await expectConsistent(w, uma);
        },
      },
      {
        name: "a sweep a month later",
        day: 31,
        async check(w) {
          const before = await w.lead("uma");
          const n = await w.service.service.pipeline.sweep(w.clock.now);
          expect(n).toBe(1);
          const after = await w.lead("uma");
          expect(after.scores_as_of).toBe(T0 + 31 * DAY);
          expect(after.scores.engagement).toBeLessThan((before.scores.engagement as number) * 0.55);
          expect(after.scores.engagement).toBeGreaterThan(0);
          expect(after.scores.fit).toBe(before.scores.fit);
          expect(after.state).toEqual(before.state);
          expect(after.stage).toBe(before.stage);
          await expectConsistent(w, after);
          expect((await w.detail(after.id)).scoresAsOf).toBe(iso(T0 + 31 * DAY));
        },
      },
    ]);
  });
});
