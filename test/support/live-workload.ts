import { expect } from "vitest";
import type { Queryable } from "../../src/db/database.js";
import { type CompiledModel, evaluate, type LeadState, replayInIngestOrder } from "../../src/engine/index.js";
import { type Call, prng, processedInputs, storedTransitions } from "./live-checks.js";

/**
 * A random live workload (identify, track, page, group and alias calls over three weeks, with resent
 * messageIds, late events, anonymous histories identified later, shared browsers and merges), and
 * the check that every stored lead holds what the pure engine computes from its stored inputs.
 * Used by the randomized live test and by the multi-process test.
 */

const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const T0 = Date.parse("2026-03-02T00:00:00Z");
const SPAN = 21 * DAY;

interface Company {
  domain: string;
  account: string | null;
  employees: number;
  industry: string;
}

const COMPANIES: Company[] = [
  { domain: "acme.com", account: "acc-acme", employees: 1500, industry: "software" },
  { domain: "globex.com", account: "acc-globex", employees: 250, industry: "fintech" },
  { domain: "initech.com", account: "acc-initech", employees: 40, industry: "retail" },
  { domain: "umbrella.com", account: null, employees: 0, industry: "" },
  { domain: "gmail.com", account: null, employees: 0, industry: "" },
  { domain: "gmail.com", account: null, employees: 0, industry: "" },
  { domain: "rival.example", account: null, employees: 0, industry: "" },
];
const TITLES = ["CEO", "VP Marketing", "Director of Ops", "Marketing Manager", "Engineer", "Student", null];
const TRACKS: [string, Record<string, unknown>][] = [
  ["Asset Downloaded", { type: "ebook" }],
  ["Asset Downloaded", { type: "whitepaper" }],
  ["Asset Downloaded", { type: "case-study" }],
  ["Webinar Registered", {}],
  ["Webinar Attended", {}],
  ["Form Submitted", {}],
  ["Email Opened", {}],
  ["Email Clicked", {}],
  ["Newsletter Subscribed", {}],
  ["Unsubscribed", {}],
  ["Demo Requested", {}],
];
const PATHS = ["/pricing", "/pricing/team", "/blog/post", "/careers", "/docs", "/"];

export interface Planned {
  call: Call;
  /** Simulated time the call is sent: its event time, or later for a late event. */
  sendAt: number;
}

/** A random workload: the calls, in the order they will be sent (by sendAt). */
export function workload(seed: number) {
  const r = prng(seed);
  const planned: Planned[] = [];
  let n = 0;
  const at = () => T0 + r.int(0, SPAN);
  const plan = (call: Record<string, unknown> & { type: string }, time: number): Call => {
    const c: Call = { ...call, messageId: `m${seed}-${n++}`, timestamp: new Date(time).toISOString() };
    // Most calls are sent within hours of happening; some arrive days late.
    const sendAt = time + (r.chance(0.15) ? r.int(1, 7) * DAY : r.int(0, 6 * HOUR));
    planned.push({ call: c, sendAt });
    return c;
  };
  const page = (ids: Record<string, string>, time: number) =>
    plan({ type: "page", ...ids, name: "Page", properties: { path: r.pick(PATHS) } }, time);
  const track = (ids: Record<string, string>, time: number) => {
    const [event, properties] = r.pick(TRACKS);
    return plan({ type: "track", ...ids, event, properties }, time);
  };

  const people = r.int(30, 50);
  const anonOf: string[] = [];
  for (let p = 0; p < people; p++) {
    const anon = `anon-${seed}-${p}`;
    anonOf.push(anon);
    const userId = `user-${seed}-${p}`;
    const company = r.pick(COMPANIES);
    const title = r.pick(TITLES);
    // Anonymous browsing first.
    const start = at();
    const views = r.int(0, 4);
    for (let i = 0; i < views; i++) page({ anonymousId: anon }, start + i * r.int(1, 20) * HOUR);
    if (r.chance(0.1)) continue; // never identified
    const identified = start + views * 20 * HOUR + r.int(1, 48) * HOUR;
    const traits: Record<string, unknown> = { email: `p${p}@${company.domain}`, name: `Person ${p}` };
    if (title) traits.title = title;
    if (r.chance(0.3)) traits.company = { employee_count: r.pick([5, 30, 120, 600, 2000]) };
    plan({ type: "identify", userId, anonymousId: anon, traits }, identified);
    const later = () => identified + r.int(-2 * DAY, 10 * DAY);
    const ids = (): Record<string, string> =>
      r.chance(0.3) ? { userId, anonymousId: anon } : r.chance(0.2) ? { anonymousId: anon } : { userId };
    const actions = r.int(2, 14);
    for (let i = 0; i < actions; i++) (r.chance(0.6) ? track : page)(ids(), later());
    if (r.chance(0.2))
      plan({ type: "identify", userId, traits: { title: r.pick(TITLES.filter(Boolean)) } }, later());
    if (company.account && r.chance(0.6)) {
      const accountTraits: Record<string, unknown> = {
        name: company.account,
        employees: r.chance(0.7) ? company.employees : r.pick([20, 80, 400, 5000]),
        industry: company.industry,
      };
      if (r.chance(0.6)) accountTraits.domain = company.domain;
      plan({ type: "group", userId, groupId: company.account, traits: accountTraits }, later());
    }
    // A second known user for the same person, merged later through alias.
    if (r.chance(0.2)) {
      const alt = `${userId}-alt`;
      const first = later();
      plan({ type: "identify", userId: alt, traits: { email: `p${p}.alt@${company.domain}` } }, first);
      for (let i = 0, k = r.int(1, 5); i < k; i++) track({ userId: alt }, first + r.int(0, 5 * DAY));
      plan({ type: "alias", userId, previousId: alt }, first + 6 * DAY);
    }
    // Alias of a second browser's anonymous history.
    if (r.chance(0.1)) {
      const other = `${anon}-2`;
      const t = later();
      page({ anonymousId: other }, t);
      page({ anonymousId: other }, t + HOUR);
      plan({ type: "alias", userId, previousId: other }, t + 2 * HOUR);
    }
    // A colleague's browser: this user on an anonymousId another person already identified with.
    if (p > 0 && r.chance(0.1)) track({ userId, anonymousId: r.pick(anonOf.slice(0, p)) }, later());
  }
  // Resent messageIds: SDK retries, the same payload again.
  const copies = planned
    .filter(() => r.chance(0.1))
    .map((p) => ({ ...p, sendAt: p.sendAt + r.int(0, 3 * DAY) }));
  planned.push(...copies);
  planned.sort((a, b) => a.sendAt - b.sendAt);
  return { planned, r };
}

interface LeadCheckRow {
  id: string;
  stage: string;
  scores: Record<string, number>;
  scores_as_of: number;
  state: LeadState;
  event_count: number;
  account_id: string | null;
  account_source: "group" | "domain" | null;
  email_domain: string | null;
  account_domain: string | null;
}

const rowsOf = (t: { from: string; to: string; at: number; triggerAt: number; inputId: string }[]) =>
  t.map(({ from, to, at, triggerAt, inputId }) => ({ from, to, at, triggerAt, inputId }));

/** Every invariant of the stored leads, against the pure engine. */
export async function checkLeads(
  db: Queryable,
  m: CompiledModel,
  acknowledged: Set<string>,
  label: string,
  /** The pipeline's own counts, when the test runs it in-process. */
  stats?: { errors: number; quarantined: number; processed: number },
) {
  const events = await db.query<{
    message_id: string;
    kind: string;
    processed: boolean;
    lead_id: string;
    error: string | null;
  }>(
    "select message_id, kind, processed, lead_id, error from events where workspace_id = 'default' order by seq",
  );
  expect(
    events.filter((e) => !e.processed),
    `${label}: unprocessed events`,
  ).toEqual([]);
  expect(
    events.filter((e) => e.error !== null),
    `${label}: events set aside`,
  ).toEqual([]);
  const ingested = events.filter((e) => e.kind === "event").map((e) => e.message_id);
  expect(new Set(ingested).size, `${label}: a messageId stored twice`).toBe(ingested.length);
  expect(new Set(ingested), `${label}: stored messageIds are the acknowledged ones`).toEqual(acknowledged);
  // Each stored event was processed once: the pipeline counted each, and the leads count each once.
  if (stats) {
    expect(stats.errors, `${label}: pipeline errors`).toBe(0);
    expect(stats.quarantined, `${label}: events set aside`).toBe(0);
    expect(stats.processed, `${label}: events processed`).toBe(events.length);
  }

  const leads = await db.query<LeadCheckRow>(
    `select l.id, l.stage, l.scores, l.scores_as_of, l.state, l.event_count, l.account_id, l.account_source,
            l.email_domain, a.domain as account_domain
     from leads l left join accounts a on a.workspace_id = l.workspace_id and a.id = l.account_id
     where l.workspace_id = 'default' and l.merged_into is null order by l.id`,
  );
  const live = new Set(leads.map((l) => l.id));
  expect(
    events.filter((e) => !live.has(e.lead_id)).map((e) => e.message_id),
    `${label}: events of no live lead`,
  ).toEqual([]);
  const counts = new Map<string, number>();
  // A lead counts the Segment calls it received (not account inputs or stage facts).
  for (const e of events) if (e.kind === "event") counts.set(e.lead_id, (counts.get(e.lead_id) ?? 0) + 1);
  expect(
    leads
      .filter((l) => l.event_count !== (counts.get(l.id) ?? 0))
      .map((l) => [l.id, l.event_count, counts.get(l.id)]),
    `${label}: event counts`,
  ).toEqual([]);
  const dangling = await db.query(
    `select i.value from identities i join leads l on l.workspace_id = i.workspace_id and l.id = i.lead_id
     where i.workspace_id = 'default' and l.merged_into is not null`,
  );
  expect(dangling, `${label}: identities of merged leads`).toEqual([]);
  const unclaimed = await db.query(
    `select l.id, l.user_id from leads l where l.workspace_id = 'default' and l.merged_into is null
       and l.user_id is not null and not exists (select 1 from identities i where i.workspace_id = l.workspace_id
         and i.kind = 'user' and i.value = l.user_id and i.lead_id = l.id)`,
  );
  expect(unclaimed, `${label}: a lead's userId is one of its identities`).toEqual([]);

  const mergedInto = new Set(
    (
      await db.query<{ into_lead: string }>(
        "select into_lead from lead_merges where workspace_id = 'default'",
      )
    ).map((r) => r.into_lead),
  );
  let merged = 0;
  let transitions = 0;
  for (const lead of leads) {
    const what = `${label}: lead ${lead.id}`;
    const inputs = await processedInputs(db, lead.id);
    expect(lead.state.model, what).toBe(m.key);
    expect(lead.scores, `${what}: scores`).toEqual(evaluate(m, inputs, lead.scores_as_of).scores);
    const stored = await storedTransitions(db, lead.id);
    transitions += stored.length;
    expect(lead.stage, `${what}: stage`).toBe(lead.state.l.stage);
    if (lead.account_id !== null) {
      // A lead linked to an account heard of it: through its own group call, or an account input.
      expect(
        lead.state.s.ac.map(([id]) => id),
        `${what}: account ${lead.account_id} in the engine state`,
      ).toContain(lead.account_id);
      expect(lead.state.s.gid, `${what}: the engine scores the lead's account`).toBe(lead.account_id);
      if (lead.account_source === "group")
        expect(
          inputs.some((i) => i.kind === "event" && i.type === "group" && i.groupId === lead.account_id),
          `${what}: group call`,
        ).toBe(true);
      else expect(lead.account_domain, `${what}: account matched by domain`).toBe(lead.email_domain);
    }
    if (!mergedInto.has(lead.id)) {
      const expected = replayInIngestOrder(m, inputs, lead.state.asOf).transitions;
      expect(stored, `${what}: transitions`).toEqual(rowsOf(expected));
      expect(stored.at(-1)?.to ?? "visitor", `${what}: last transition`).toBe(lead.stage);
    } else {
      merged++;
      // No stage facts in this workload, so a lead qualifies once: a merge never fires a second MQL.
      expect(stored.filter((t) => t.to === "mql").length, `${what}: MQL transitions`).toBeLessThanOrEqual(1);
    }
    const mqls = await db.query<{ n: number }>(
      "select count(*)::int as n from outbox where workspace_id = 'default' and topic = 'lead.mql' and lead_id = $1",
      [lead.id],
    );
    expect(mqls[0]?.n, `${what}: lead.mql messages`).toBe(stored.filter((t) => t.to === "mql").length);
  }
  return { leads: leads.length, merged, transitions };
}
