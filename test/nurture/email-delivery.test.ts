import { afterEach, describe, expect, it } from "vitest";
import { EMAIL_BACKOFF } from "../../src/nurture/email/email-sender.js";
import { type Attempt, type NurtureSetup, startNurtureService } from "../support/nurture-service.js";
import { freePort } from "../support/qualify-process.js";
import { type ReplyCode, SmtpSink } from "../support/smtp-sink.js";
import { DATABASE_KINDS } from "../support/test-database.js";

/**
 * Marketing email delivery over real SMTP, on a clock the test moves: an SMTP server that is down
 * (retries with backoff, then one delivery), a permanent 550 (the address bounces: suppressed, an
 * `Email Bounced` event, the enrollment leaves), a 451 (retried, then delivered), a reply to DATA
 * that never comes (`unknown`, never resent), the frequency cap, quiet hours in the lead's own zone
 * (latest context.timezone, then the timezone trait, then the workspace default), do-not-email, and
 * the Message-ID derived from the enrollment and the step, the same on every retry.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** 10:00 in New York, 15:00 UTC, 00:00 in Tokyo the next day. */
const T0 = Date.parse("2025-03-04T15:00:00Z");

const TEMPLATES = [
  `
id: tpl-one
subject: "Hello {{ trait.first_name | default: 'there' }}"
html: |
  <p>Hello {{ trait.first_name | default: "there" }}</p>
text: Hello
`,
  `
id: tpl-two
subject: Still there?
html: <p>Still there?</p>
text: Still there?
`,
  `
id: tpl-three
subject: One more thing
html: <p>One more thing</p>
text: One more thing
`,
];

/** Two emails a day apart. */
const TWO_SENDS = `
id: two-sends
entry: { stage: lead }
steps:
  - { id: email-1, send: tpl-one }
  - { id: pause, wait: 1d }
  - { id: email-2, send: tpl-two }
`;
const THREE_AT_ONCE = `
id: three-at-once
entry: { stage: lead }
steps:
  - { id: email-1, send: tpl-one }
  - { id: email-2, send: tpl-two }
  - { id: email-3, send: tpl-three }
`;
const ONE_SEND = `
id: one-send
entry: { stage: lead }
steps:
  - { id: email-1, send: tpl-one }
`;

describe.each(DATABASE_KINDS)("marketing email delivery on %s", (kind) => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });
  const setup = (o: Omit<NurtureSetup, "now" | "templates">) =>
    startNurtureService(kind, cleanup, { now: T0, templates: TEMPLATES, ...o });

  const messageIds = (smtp: SmtpSink, to: string) => smtp.to(to).map((m) => m.parsed.messageId);

  it("SMTP down: retries with growing backoff, then one delivery with the same Message-ID", async () => {
    const port = await freePort();
    const t = await setup({ smtpUrl: `smtp://127.0.0.1:${port}`, sequence: TWO_SENDS });
    const to = "ana@down.example";
    const leadId = await t.becomeLead("u-ana", { email: to });

    // The step queued its attempt; the server could not be reached: it waits, with backoff.
    const [first] = await t.attempts(leadId);
    expect(first).toMatchObject({ status: "queued", attempts: 1, step: "email-1", to, sentAt: null });
    expect(first?.messageId).toBe(`<${first?.enrollmentId}.email-1@qualify>`);
    expect(first?.lastError).toMatch(/ECONNREFUSED/);
    const wait1 = Date.parse(first?.nextAttemptAt as string) - t.clock.now;
    // Equal jitter: after failure n the wait is in [exp/2, exp], exp = 30 s·2^(n-1).
    expect(wait1).toBeGreaterThanOrEqual(EMAIL_BACKOFF.baseMs / 2);
    expect(wait1).toBeLessThanOrEqual(EMAIL_BACKOFF.baseMs);
    // Not due yet: nothing is tried before then.
    t.clock.now += wait1 - 1;
    expect(await t.service.service.email.runDue(t.clock.now)).toBe(0);

    // The second failure waits longer than the first.
    t.clock.now += 1;
    await t.service.service.email.runDue(t.clock.now);
    const [second] = await t.attempts(leadId);
    expect(second).toMatchObject({ status: "queued", attempts: 2, messageId: first?.messageId });
    const wait2 = Date.parse(second?.nextAttemptAt as string) - t.clock.now;
    expect(wait2).toBeGreaterThanOrEqual(EMAIL_BACKOFF.baseMs);
    expect(wait2).toBeLessThanOrEqual(2 * EMAIL_BACKOFF.baseMs);
    expect(wait2).toBeGreaterThanOrEqual(wait1);

    // The server comes up on that port: exactly one delivery, with the step's Message-ID.
    const smtp = await SmtpSink.start(port);
    // Closed after the service (whose pooled connection would hold it open).
    cleanup.unshift(() => smtp.close());
    t.clock.now += wait2;
    await t.settle();
    const [sent] = await t.attempts(leadId);
    expect(sent).toMatchObject({ status: "sent", attempts: 3, messageId: first?.messageId, lastError: null });
    expect(sent?.smtpResponse).toMatch(/^250/);
    expect(messageIds(smtp, to)).toEqual([first?.messageId]);
    // Much later: it is not sent again.
    t.clock.now += HOUR;
    await t.settle();
    expect(smtp.seen).toHaveLength(1);
  });

  it("a permanent 550 bounces: suppressed, Email Bounced recorded, the enrollment leaves", async () => {
    const t = await setup({ sequence: TWO_SENDS });
    const to = "bob@bounce.example";
    t.smtp.refuse.set(to, 550);
    const leadId = await t.becomeLead("u-bob", { email: to });

    const [a] = await t.attempts(leadId);
    expect(a).toMatchObject({ status: "bounced", attempts: 1, step: "email-1", nextAttemptAt: null });
    expect(a?.smtpResponse).toMatch(/^550/);
    expect(t.smtp.seen).toHaveLength(0);
    const suppressions = (await t.service.api("GET", "/api/email/suppressions")).body.suppressions;
    expect(suppressions).toEqual([expect.objectContaining({ email: to, reason: "bounced", leadId })]);
    expect(suppressions[0].detail).toMatch(/^550/);

    // The bounce is an event of the lead, through the pipeline.
    await t.service.drain();
    const events = JSON.stringify((await t.service.api("GET", `/api/leads/${leadId}/events`)).body);
    expect(events).toContain("Email Bounced");
    expect(events).toContain(a?.id);

    // The enrollment left before its next send; days later, nothing more went to the address.
    const state = await t.nurture(leadId);
    expect(state.enrollments).toHaveLength(1);
    expect(state.enrollments[0]).toMatchObject({ status: "exited", exitReason: "bounced", step: "pause" });
    expect(state.standing.suppressed).toBe("bounced");
    t.smtp.refuse.delete(to);
    t.clock.now += 3 * DAY;
    await t.settle();
    expect(await t.attempts(leadId)).toHaveLength(1);
    expect(t.smtp.seen).toHaveLength(0);
  });

  it("a 451 is retried later, then delivered once the server accepts", async () => {
    const t = await setup({ sequence: TWO_SENDS });
    const to = "cy@busy.example";
    t.smtp.refuse.set(to, 451);
    const leadId = await t.becomeLead("u-cy", { email: to });

    const [a] = await t.attempts(leadId);
    expect(a).toMatchObject({ status: "queued", attempts: 1 });
    expect(a?.smtpResponse).toMatch(/^451/);
    const due = Date.parse(a?.nextAttemptAt as string);
    expect(due).toBeGreaterThan(t.clock.now);
    expect(t.smtp.seen).toHaveLength(0);
    // Still refused at the next try: it waits again.
    t.clock.now = due;
    await t.settle();
    const [b] = await t.attempts(leadId);
    expect(b).toMatchObject({ status: "queued", attempts: 2 });

    t.smtp.refuse.delete(to);
    t.clock.now = Date.parse(b?.nextAttemptAt as string);
    await t.settle();
    const [c] = await t.attempts(leadId);
    expect(c).toMatchObject({
      status: "sent",
      attempts: 3,
      messageId: `<${a?.enrollmentId}.email-1@qualify>`,
    });
    expect(messageIds(t.smtp, to)).toEqual([c?.messageId]);

    // The enrollment went on: email 2 a day later, with its own Message-ID.
    t.clock.now += DAY;
    await t.settle();
    expect(messageIds(t.smtp, to)).toEqual([c?.messageId, `<${a?.enrollmentId}.email-2@qualify>`]);
    expect((await t.nurture(leadId)).enrollments[0]).toMatchObject({ status: "completed" });
  });

  it("a message refused after its DATA (451) goes again with the same Message-ID", async () => {
    const t = await setup({ sequence: TWO_SENDS });
    const to = "dee@greylist.example";
    let refusals = 1;
    t.smtp.onMessage = (): ReplyCode => (refusals-- > 0 ? 451 : undefined);
    const leadId = await t.becomeLead("u-dee", { email: to });

    const [a] = await t.attempts(leadId);
    expect(a).toMatchObject({ status: "queued", attempts: 1 });
    expect(t.smtp.seen.map((m) => m.parsed.messageId)).toEqual([a?.messageId]);
    expect(t.smtp.mails).toHaveLength(0);
    t.clock.now = Date.parse(a?.nextAttemptAt as string);
    await t.settle();
    const [b] = await t.attempts(leadId);
    expect(b).toMatchObject({ status: "sent", attempts: 2, messageId: a?.messageId });
    const expected = `<${a?.enrollmentId}.email-1@qualify>`;
    expect(t.smtp.seen.map((m) => m.parsed.messageId)).toEqual([expected, expected]);
    expect(messageIds(t.smtp, to)).toEqual([expected]);
  });

  it("a reply to DATA that never comes leaves the attempt unknown: shown, never resent", async () => {
    // The SMTP exchange times out after 1 s (QUALIFY_WEBHOOK_TIMEOUT_MS).
    const t = await setup({ sequence: TWO_SENDS, env: { QUALIFY_WEBHOOK_TIMEOUT_MS: "1000" } });
    const to = "eli@slow.example";
    let hold = true;
    t.smtp.onMessage = () => (hold ? new Promise<ReplyCode>(() => undefined) : undefined);
    const leadId = await t.becomeLead("u-eli", { email: to });

    const [a] = await t.attempts(leadId);
    expect(a).toMatchObject({ status: "unknown", attempts: 1, step: "email-1", nextAttemptAt: null });
    expect(a?.lastError).toMatch(/timeout/i);
    const unknown = (await t.service.api("GET", "/api/email/attempts?status=unknown")).body.attempts;
    expect(unknown.map((u: Attempt) => u.id)).toEqual([a?.id]);

    // The server is fine again; hours later the message still does not go a second time.
    hold = false;
    t.clock.now += 6 * HOUR;
    await t.settle();
    expect((await t.attempts(leadId)).find((x) => x.id === a?.id)).toMatchObject({
      status: "unknown",
      attempts: 1,
    });
    expect(t.smtp.seen.map((m) => m.parsed.messageId)).toEqual([a?.messageId]);

    // The enrollment was not lost: its next step goes.
    t.clock.now += DAY;
    await t.settle();
    expect(messageIds(t.smtp, to)).toEqual([`<${a?.enrollmentId}.email-2@qualify>`]);
    expect((await t.nurture(leadId)).enrollments[0]).toMatchObject({ status: "completed" });
  });

  it("the frequency cap holds the third email until the first leaves the window", async () => {
    const t = await setup({ sequence: THREE_AT_ONCE, settings: { frequencyCap: { max: 2, window: "7d" } } });
    expect((await t.service.api("GET", "/api/nurture/settings")).body.frequencyCap).toEqual({
      max: 2,
      window: 7 * DAY,
    });
    const to = "fay@cap.example";
    const leadId = await t.becomeLead("u-fay", { email: to });
    const start = t.clock.now;

    // Sent side by side: in either order.
    expect(
      t.smtp
        .to(to)
        .map((m) => m.parsed.subject)
        .sort(),
    ).toEqual(["Hello there", "Still there?"]);
    const waiting = (await t.nurture(leadId)).enrollments[0];
    expect(waiting).toMatchObject({ status: "active", step: "email-3" });
    expect(waiting.nextRunAt).toBe(new Date(start + 7 * DAY).toISOString());

    t.clock.now = start + 7 * DAY - 60_000;
    await t.settle();
    expect(t.smtp.to(to)).toHaveLength(2);

    t.clock.now = start + 7 * DAY;
    await t.settle();
    expect(
      t.smtp
        .to(to)
        .map((m) => m.parsed.subject)
        .slice(2),
    ).toEqual(["One more thing"]);
    expect(t.smtp.to(to)).toHaveLength(3);
    expect((await t.nurture(leadId)).enrollments[0]).toMatchObject({ status: "completed" });
    expect((await t.attempts(leadId)).map((a) => a.status)).toEqual(["sent", "sent", "sent"]);
  });

  it("the cap counts across sequences: two sends due together (one batch of steps) make one email", async () => {
    const t = await setup({ sequence: ONE_SEND, settings: { frequencyCap: { max: 1, window: "7d" } } });
    const other = await t.service.api("POST", "/api/sequences", {
      source: ONE_SEND.replace("id: one-send", "id: one-send-too").replace("tpl-one", "tpl-two"),
    });
    expect(other.status, JSON.stringify(other.body)).toBe(201);
    const to = "gil@cap.example";
    const leadId = await t.becomeLead("u-gil", { email: to });
    const start = t.clock.now;
    expect(t.smtp.to(to)).toHaveLength(1);
    const enrollments = (await t.nurture(leadId)).enrollments;
    expect(enrollments.map((e: { status: string }) => e.status).sort()).toEqual(["active", "completed"]);
    const held = enrollments.find((e: { status: string }) => e.status === "active");
    expect(held.nextRunAt).toBe(new Date(start + 7 * DAY).toISOString());
    t.clock.now = start + 7 * DAY;
    await t.settle();
    expect(t.smtp.to(to)).toHaveLength(2);
    expect((await t.attempts(leadId)).map((a) => a.status)).toEqual(["sent", "sent"]);
  });

  it("quiet hours in each lead's own zone: context.timezone, then the timezone trait, then the default", async () => {
    const t = await setup({
      sequence: ONE_SEND,
      settings: {
        quietHours: { start: "21:00", end: "08:00" },
        defaultTimeZone: "UTC",
        frequencyCap: null,
      },
    });
    // 23:30 in New York (EST), 04:30 UTC, 05:30 in Paris, 13:30 in Tokyo.
    t.clock.now = Date.parse("2025-03-05T04:30:00Z");
    const ny = "gus@ny.example";
    const tokyo = "hana@tokyo.example";
    const utc = "ivo@nowhere.example";

    // Its latest event says New York (an earlier one Paris; its trait Tokyo): New York wins.
    await t.ingest([
      {
        type: "identify",
        userId: "u-gus",
        traits: { email: ny, email_consent: true, timezone: "Asia/Tokyo" },
        context: { timezone: "Europe/Paris" },
        timestamp: new Date(t.clock.now - 2000).toISOString(),
      },
      {
        type: "track",
        userId: "u-gus",
        event: "Form Submitted",
        context: { timezone: "America/New_York" },
        timestamp: new Date(t.clock.now - 1000).toISOString(),
      },
    ]);
    const nyLead = (await t.service.api("GET", `/api/leads?email=${ny}`)).body.items[0].id as string;
    const tokyoLead = await t.becomeLead("u-hana", { email: tokyo, timezone: "Asia/Tokyo" });
    const utcLead = await t.becomeLead("u-ivo", { email: utc });

    expect((await t.nurture(nyLead)).standing.timeZone).toBe("America/New_York");
    // Tokyo is at 13:30: it goes now. The others wait for 08:00 in their own zone.
    expect(t.smtp.to(tokyo)).toHaveLength(1);
    expect(t.smtp.to(ny)).toHaveLength(0);
    expect(t.smtp.to(utc)).toHaveLength(0);
    expect((await t.nurture(tokyoLead)).enrollments[0]).toMatchObject({ status: "completed" });
    expect((await t.nurture(nyLead)).enrollments[0]).toMatchObject({
      status: "active",
      step: "email-1",
      nextRunAt: "2025-03-05T13:00:00.000Z",
    });
    expect((await t.nurture(utcLead)).enrollments[0]).toMatchObject({
      status: "active",
      step: "email-1",
      nextRunAt: "2025-03-05T08:00:00.000Z",
    });
    expect(await t.attempts(nyLead)).toEqual([]);

    t.clock.now = Date.parse("2025-03-05T07:59:00Z");
    await t.settle();
    expect(t.smtp.to(utc)).toHaveLength(0);

    t.clock.now = Date.parse("2025-03-05T08:00:00Z");
    await t.settle();
    expect(t.smtp.to(utc)).toHaveLength(1);
    expect(t.smtp.to(ny)).toHaveLength(0);

    t.clock.now = Date.parse("2025-03-05T13:00:00Z");
    await t.settle();
    expect(t.smtp.to(ny)).toHaveLength(1);
    expect((await t.nurture(nyLead)).enrollments[0]).toMatchObject({ status: "completed" });
    expect(t.smtp.mails).toHaveLength(3);
  });

  it("do-not-email: never emailed, and a lead that gets the flag later leaves its enrollment", async () => {
    const t = await setup({ sequence: TWO_SENDS });
    const never = "jo@dne.example";
    const later = "kim@dne.example";
    const neverLead = await t.becomeLead("u-jo", { email: never, do_not_email: true });
    const laterLead = await t.becomeLead("u-kim", { email: later });

    const jo = await t.nurture(neverLead);
    expect(jo.standing.doNotEmail).toBe(true);
    expect(jo.enrollments.filter((e: { status: string }) => e.status === "active")).toEqual([]);
    expect(jo.emails).toEqual([]);
    expect(t.smtp.to(later)).toHaveLength(1);
    expect((await t.nurture(laterLead)).enrollments[0]).toMatchObject({ status: "active", step: "pause" });

    await t.ingest([
      {
        type: "identify",
        userId: "u-kim",
        traits: { do_not_email: true },
        timestamp: new Date(t.clock.now).toISOString(),
      },
    ]);
    const kim = await t.nurture(laterLead);
    expect(kim.standing.doNotEmail).toBe(true);
    expect(kim.enrollments[0]).toMatchObject({ status: "exited", exitReason: "do-not-email" });

    t.clock.now += 3 * DAY;
    await t.settle();
    expect(t.smtp.to(never)).toHaveLength(0);
    expect(t.smtp.to(later)).toHaveLength(1);
    expect(await t.attempts(neverLead)).toEqual([]);
    expect(await t.attempts(laterLead)).toHaveLength(1);
  });
});
