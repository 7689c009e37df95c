import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNurtureService } from "../support/nurture-service.js";
import { DATABASE_KINDS } from "../support/test-database.js";

/**
 * How leads move through sequences, over the real API on a clock the test moves: entry by event
 * (only events after the sequence started running), by a segment condition; waitFor that an event
 * ends early or a timeout ends; a branch on recent events; `next: end`; no re-entry; pausing; the
 * enrollment state and counts by step; and what cannot be saved (no postal address, a missing
 * template, a loop).
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse("2025-06-03T14:00:00Z");

const template = (id: string) => `
id: ${id}
subject: ${id}
html: |
  <p>${id} for {{ trait.first_name | default: "you" }}</p>
text: ${id}
`;
const WEBINAR = `
id: webinar
entry: { event: Webinar Registered }
steps:
  - { id: invite, send: tpl-invite }
  - { id: watch, waitFor: { event: Webinar Attended, timeout: 3d } }
  - { id: fork, if: { event: Webinar Attended, within: 7d }, then: recap, else: replay }
  - { id: recap, send: tpl-recap, next: end }
  - { id: replay, send: tpl-replay }
`;
const ENGAGED = `
id: engaged
entry: { when: { all: [ { score: engagement, gte: 15 }, { stage: lead } ] } }
exit: { events: [Meeting Booked] }
steps:
  - { id: hello, send: tpl-invite }
  - { id: later, wait: 1d }
  - { id: again, send: tpl-replay }
`;

describe.each(DATABASE_KINDS)("sequences on %s", (kind) => {
  const cleanup: (() => Promise<unknown>)[] = [];
  let t: Awaited<ReturnType<typeof startNurtureService>>;

  beforeAll(async () => {
    t = await startNurtureService(kind, cleanup, {
      now: T0,
      templates: ["tpl-invite", "tpl-recap", "tpl-replay"].map(template),
      sequence: WEBINAR,
    });
  });
  afterAll(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });

  const track = (userId: string, event: string) =>
    t.ingest([{ type: "track", userId, event, timestamp: new Date(t.clock.now).toISOString() }]);
  const sent = (leadId: string) => t.attempts(leadId).then((list) => list.map((a) => a.step).sort());
  const enrollment = async (leadId: string, sequence: string) =>
    (await t.nurture(leadId)).enrollments.filter((e: { sequence: string }) => e.sequence === sequence);

  it("enters on an event; an attended webinar ends the wait early and takes the recap branch to the end", async () => {
    const lead = await t.becomeLead("u-ann", { email: "ann@corp.example", first_name: "Ann" });
    await track("u-ann", "Webinar Registered");
    expect(await sent(lead)).toEqual(["invite"]);
    t.clock.now += 2 * HOUR;
    await track("u-ann", "Webinar Attended");
    const [e] = await enrollment(lead, "webinar");
    expect(e).toMatchObject({ status: "completed", entryReason: "event Webinar Registered" });
    expect(e.steps.map((s: { step: string; outcome: string }) => [s.step, s.outcome])).toEqual([
      ["invite", "queued tpl-invite v1"],
      ["watch", "event came"],
      ["fork", "condition true: recap"],
      ["recap", "queued tpl-recap v1"],
    ]);
    expect(await sent(lead)).toEqual(["invite", "recap"]);
    expect(t.smtp.to("ann@corp.example").map((m) => m.parsed.subject)).toEqual(["tpl-invite", "tpl-recap"]);
  });

  it("without the event the wait times out and the other branch runs; a lead never enters twice", async () => {
    const lead = await t.becomeLead("u-bo", { email: "bo@corp.example" });
    await track("u-bo", "Webinar Registered");
    const [waiting] = await enrollment(lead, "webinar");
    expect(waiting).toMatchObject({ status: "active", step: "watch" });
    expect(Date.parse(waiting.nextRunAt)).toBe(t.clock.now + 3 * DAY);
    const counts = (await t.service.api("GET", "/api/sequences/webinar")).body;
    expect(counts.activeByStep).toEqual({ watch: 1 });
    expect(counts.emailsByStep.invite).toEqual({ sent: 2 });

    t.clock.now += 3 * DAY;
    await t.settle();
    const [done] = await enrollment(lead, "webinar");
    expect(done.steps.map((s: { outcome: string }) => s.outcome)).toEqual([
      "queued tpl-invite v1",
      "timed out",
      "condition false: replay",
      "queued tpl-replay v1",
    ]);
    expect(done.status).toBe("completed");

    // Registering again: re-entry is `never` by default.
    await track("u-bo", "Webinar Registered");
    expect(await enrollment(lead, "webinar")).toHaveLength(1);
    expect(await sent(lead)).toEqual(["invite", "replay"]);
  });

  it("a segment enrolls a lead that matches at its next change; a custom exit event ends it", async () => {
    // Cy registered before the `engaged` sequence existed, and is already engaged enough.
    const cy = await t.becomeLead("u-cy", { email: "cy@corp.example" });
    await t.ingest([
      {
        type: "track",
        userId: "u-cy",
        event: "Asset Downloaded",
        properties: { type: "ebook" },
        timestamp: new Date(t.clock.now).toISOString(),
      },
    ]);
    const saved = await t.service.api("POST", "/api/sequences", { source: ENGAGED });
    expect(saved.status, JSON.stringify(saved.body)).toBe(201);
    // Cy's next change re-checks: the segment (engagement 20, a lead) holds now, so Cy enters.
    await track("u-cy", "Newsletter Subscribed");
    const [e] = await enrollment(cy, "engaged");
    expect(e).toMatchObject({ status: "active", entryReason: "matched the segment", step: "later" });
    // A custom exit event ends it.
    await track("u-cy", "Meeting Booked");
    expect((await enrollment(cy, "engaged"))[0]).toMatchObject({
      status: "exited",
      exitReason: "event Meeting Booked",
    });
  });

  it("a paused sequence takes no one in; activated again, it counts only events from then on", async () => {
    expect((await t.service.api("POST", "/api/sequences/webinar/pause")).status).toBe(200);
    const lead = await t.becomeLead("u-di", { email: "di@corp.example" });
    await track("u-di", "Webinar Registered");
    expect(await enrollment(lead, "webinar")).toEqual([]);
    const resumed = await t.service.api("POST", "/api/sequences/webinar/activate", {});
    expect(resumed.body).toMatchObject({ id: "webinar", version: 1, active: true });
    // The registration while paused does not count at the next change.
    t.clock.now += HOUR;
    await track("u-di", "Newsletter Subscribed");
    expect(await enrollment(lead, "webinar")).toEqual([]);
    await track("u-di", "Webinar Registered");
    expect(await enrollment(lead, "webinar")).toHaveLength(1);
  });

  it("refuses a sequence with a missing template or a loop, each error with its line, and any without a postal address", async () => {
    const bad = await t.service.api("POST", "/api/sequences", {
      source:
        "id: bad\nentry: { stage: lead }\nsteps:\n  - { id: a, send: tpl-nope }\n  - { id: b, wait: 1d, next: a }\n",
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error).toBe("SEQUENCE_INVALID");
    expect(bad.body.details).toEqual([
      expect.objectContaining({ path: "steps[0].send", line: 4 }),
      expect.objectContaining({ path: "steps[1].next", line: 5 }),
    ]);
    expect((await t.service.api("PUT", "/api/nurture/settings", { defaultConsent: "opt-in" })).status).toBe(
      200,
    );
    const noAddress = await t.service.api("POST", "/api/sequences", { source: ENGAGED });
    expect(noAddress.status).toBe(422);
    expect(noAddress.body).toMatchObject({
      error: "SETTINGS_INVALID",
      details: [expect.objectContaining({ path: "postalAddress" })],
    });
  });
});
