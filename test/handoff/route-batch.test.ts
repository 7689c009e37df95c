import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Call, sendBatch } from "../support/live-checks.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService, type TestService } from "../support/test-service.js";

/**
 * MQLs that arrive together are routed together: the scheduler claims their `handoff.route` jobs
 * at once and runs them in one transaction. Each is routed as if alone and in turn: round robin
 * moves on by one per lead, and a lead whose colleague was just given to a rep goes to that rep
 * (the account's new owner) rather than to the next in turn.
 */

const ALL_DAY = '["00:00-24:00"]';
const ROUTING = `
teams:
  sdr:
    timeZone: UTC
    hours: { mon: ${ALL_DAY}, tue: ${ALL_DAY}, wed: ${ALL_DAY}, thu: ${ALL_DAY}, fri: ${ALL_DAY}, sat: ${ALL_DAY}, sun: ${ALL_DAY} }
    sla: { hours: 4 }
fallback: { team: sdr }
`;
const REPS = ["ana@corp.example", "ben@corp.example", "cy@corp.example"];

/** Identify, then a download and a demo request: an MQL under the default model. */
function mqlCalls(n: number, email: string, t: number): Call[] {
  const userId = `u-${n}`;
  return [
    {
      type: "identify",
      messageId: `id-${n}`,
      userId,
      traits: { email, title: "VP Marketing", company_size: 5000 },
      timestamp: new Date(t - 3000).toISOString(),
    },
    {
      type: "track",
      messageId: `dl-${n}`,
      userId,
      event: "Asset Downloaded",
      properties: { type: "ebook" },
      timestamp: new Date(t - 2000).toISOString(),
    },
    {
      type: "track",
      messageId: `demo-${n}`,
      userId,
      event: "Demo Requested",
      timestamp: new Date(t - 1000).toISOString(),
    },
  ];
}

describe.each(DATABASE_KINDS)("routing a claim of MQLs together on %s", (kind) => {
  let service: TestService;
  const clock = { now: Date.now() };

  beforeAll(async () => {
    // The scheduler runs only when the test says (its loop would poll once an hour).
    service = await startTestService(kind, {
      clock: () => clock.now,
      env: { QUALIFY_SCHEDULER_POLL_MS: "3600000" },
    });
    for (const email of REPS)
      expect((await service.api("POST", "/api/users", { email, role: "sales", teams: ["sdr"] })).status).toBe(
        201,
      );
    const saved = await service.api("POST", "/api/routing", { source: ROUTING });
    expect(saved.status, JSON.stringify(saved.body)).toBe(201);
  });
  afterAll(async () => {
    await service?.close();
  });

  it("gives each MQL one handoff, in turn, and a colleague of a routed lead to the same rep", async () => {
    // Five companies; the first and the last lead work at the same one (one account by domain).
    const emails = ["a@one.example", "b@two.example", "c@three.example", "d@four.example", "e@one.example"];
    await sendBatch(
      service,
      emails.flatMap((email, i) => mqlCalls(i, email, clock.now - (emails.length - i) * 10_000)),
    );
    await service.drain();
    const before = { ...service.service.scheduler.stats };
    const ran = await service.service.scheduler.runDue(clock.now);
    expect(ran).toBe(emails.length);
    // All five ran through the batch handler: none had to be run alone after it failed.
    expect(service.service.scheduler.stats.split).toBe(before.split);

    const owners: Record<string, { owner: string; rule: string }> = {};
    for (const email of emails) {
      const lead = (await service.api("GET", `/api/leads?email=${email}`)).body.items[0];
      expect(lead.stage, email).toBe("mql");
      const handoffs = (await service.api("GET", `/api/handoffs?leadId=${lead.id}`)).body.handoffs;
      expect(handoffs, email).toHaveLength(1);
      owners[email] = { owner: handoffs[0].owner.email, rule: handoffs[0].rule };
    }
    // Round robin in the order the MQLs happened, starting with the first rep by email.
    expect(owners).toEqual({
      "a@one.example": { owner: REPS[0], rule: "fallback" },
      "b@two.example": { owner: REPS[1], rule: "fallback" },
      "c@three.example": { owner: REPS[2], rule: "fallback" },
      "d@four.example": { owner: REPS[0], rule: "fallback" },
      // Routed in the same transaction as a@, whose rep now owns the account: not the next turn.
      "e@one.example": { owner: REPS[0], rule: "account-owner" },
    });

    // Running the claim's jobs again changes nothing: one handoff per MQL.
    expect(await service.service.scheduler.runDue(clock.now)).toBe(0);
    const all = (await service.api("GET", "/api/handoffs?limit=100")).body.handoffs;
    expect(all).toHaveLength(emails.length);
  });
});
