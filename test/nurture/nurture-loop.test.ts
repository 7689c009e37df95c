import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postIngest } from "../support/live-checks.js";
import { startNurtureService } from "../support/nurture-service.js";
import type { ReceivedMail, SmtpSink } from "../support/smtp-sink.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import type { TestService } from "../support/test-service.js";

/**
 * Nurture end to end over real SMTP and real HTTP, on a clock the test moves:
 * 1. a lead enters the sequence on becoming a lead; 2. it gets email 1, opens it and clicks the
 * pricing link; 3. with those events and its visits to pricing it becomes an MQL; 4. it leaves the
 * sequence, and email 2 never goes. A second lead unsubscribes by one-click and gets nothing more;
 * a third, without consent, gets nothing at all.
 */

const DAY = 86_400_000;
const WELCOME = `
id: tpl-welcome
subject: "Welcome, {{ trait.first_name | default: 'there' }}"
html: |
  <p>Hi {{ trait.first_name | default: "there" }},</p>
  <p>Teams like {{ account.name | default: "yours" }} start with <a href="https://acme.example/pricing">our pricing</a>
  or <a href="https://acme.example/guide">the guide</a>.</p>
text: |
  Hi {{ trait.first_name | default: "there" }}, see https://acme.example/pricing
`;
const FOLLOW_UP = `
id: tpl-follow-up
subject: Still thinking it over?
html: <p>Here is a case study.</p>
text: Here is a case study.
`;
const SEQUENCE = `
id: welcome
entry: { stage: lead }
steps:
  - { id: email-1, send: tpl-welcome }
  - { id: pause, wait: 2d }
  - { id: email-2, send: tpl-follow-up }
`;

describe.each(DATABASE_KINDS)("nurture end to end on %s", (kind) => {
  const cleanup: (() => Promise<unknown>)[] = [];
  let t: Awaited<ReturnType<typeof startNurtureService>>;
  let service: TestService;
  let smtp: SmtpSink;
  let clock: { now: number };
  let settle: () => Promise<void>;

  beforeAll(async () => {
    t = await startNurtureService(kind, cleanup, {
      now: Date.now(),
      templates: [WELCOME, FOLLOW_UP],
      sequence: SEQUENCE,
    });
    ({ service, smtp, clock, settle } = t);
  });
  afterAll(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });

  const leadOf = async (email: string) =>
    (await service.api("GET", `/api/leads?email=${email}`)).body.items[0];
  /** Who the person is (consent as given), a form and an ebook: a lead, 20 engagement points. */
  const becomeLead = (
    userId: string,
    traits: Record<string, unknown>,
    context: Record<string, unknown> = {},
  ) => {
    const at = (ms: number) => new Date(clock.now - ms).toISOString();
    return t.ingest([
      { type: "identify", userId, traits, context, timestamp: at(2000) },
      { type: "track", userId, event: "Form Submitted", timestamp: at(1000) },
      { type: "track", userId, event: "Asset Downloaded", properties: { type: "ebook" }, timestamp: at(500) },
    ]);
  };
  const nurtureOf = (leadId: string) => t.nurture(leadId);
  const links = (html: string) =>
    [...html.matchAll(/href="([^"]+)"/g)].map((m) => (m[1] as string).replace(/&amp;/g, "&"));

  it("lead → email 1 → open, pricing click, visits → MQL → leaves; email 2 never goes", async () => {
    await becomeLead("u-dana", {
      email: "dana@bigco.example",
      first_name: "Dana",
      title: "VP Marketing",
      email_consent: true,
      company: { employee_count: 5000, industry: "software" },
    });
    const lead = await leadOf("dana@bigco.example");
    expect(lead.stage).toBe("lead");

    // 1–2. It entered on becoming a lead, and email 1 went out over SMTP.
    const state = await nurtureOf(lead.id);
    expect(state.enrollments).toHaveLength(1);
    expect(state.enrollments[0]).toMatchObject({
      sequence: "welcome",
      status: "active",
      step: "pause",
      entryReason: "entered lead",
    });
    const mails = smtp.to("dana@bigco.example");
    expect(mails).toHaveLength(1);
    const mail = mails[0] as ReceivedMail;
    expect(mail.parsed.subject).toBe("Welcome, Dana");
    expect(mail.parsed.from?.value[0]).toMatchObject({ name: "Acme", address: "news@acme.example" });
    expect(mail.parsed.messageId).toBe(`<${state.enrollments[0].id}.email-1@qualify>`);
    expect(mail.headers).toMatch(/^List-Unsubscribe: <http:\/\/127\.0\.0\.1:\d+\/e\/u\/[^>]+>$/m);
    expect(mail.headers).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m);
    const html = mail.parsed.html as string;
    expect(html).toContain("Hi Dana,");
    expect(html).toContain("Teams like yours start");
    expect(html).toContain("Acme Inc., 5 Main Street, Springfield");
    expect(mail.parsed.text).toContain("Acme Inc., 5 Main Street, Springfield");
    expect(mail.parsed.text).toMatch(/Unsubscribe: http:\/\/127\.0\.0\.1:\d+\/e\/u\//);
    const hrefs = links(html);
    const pricing = hrefs.find(
      (h) => h.includes("/e/c/") && h.includes(encodeURIComponent("https://acme.example/pricing")),
    );
    expect(pricing).toBeDefined();
    expect(hrefs.some((h) => h.includes("/e/u/"))).toBe(true);
    const pixel = /<img src="([^"]+\/e\/o\/[^"]+)"/.exec(html)?.[1]?.replace(/&amp;/g, "&");
    expect(pixel).toBeDefined();

    // It opens the email (the pixel) and, a minute later, clicks pricing.
    const opened = await fetch(pixel as string);
    expect(opened.status).toBe(200);
    expect(opened.headers.get("content-type")).toBe("image/gif");
    clock.now += 60_000;
    const click = await fetch(pricing as string, { redirect: "manual" });
    expect(click.status).toBe(302);
    expect(click.headers.get("location")).toBe("https://acme.example/pricing");
    // A changed target is refused, never followed.
    const tampered = (pricing as string).replace(
      encodeURIComponent("https://acme.example/pricing"),
      encodeURIComponent("https://evil.example/"),
    );
    const refused = await fetch(tampered, { redirect: "manual" });
    expect(refused.status).toBe(400);
    expect(refused.headers.get("location")).toBeNull();
    await settle();
    const events = (await service.api("GET", `/api/leads/${lead.id}/events`)).body;
    const names = JSON.stringify(events);
    expect(names).toContain("Email Opened");
    expect(names).toContain("Email Clicked");
    expect((await leadOf("dana@bigco.example")).stage).toBe("lead");

    // 3. Its visits to pricing, with the email engagement, make it an MQL.
    for (let i = 0; i < 3; i++)
      await postIngest(service, "/v1/page", {
        userId: "u-dana",
        name: "Pricing",
        properties: { path: "/pricing" },
        timestamp: new Date(clock.now + i * 1000).toISOString(),
      });
    await settle();
    const mql = await leadOf("dana@bigco.example");
    expect(mql.stage).toBe("mql");
    const explain = JSON.stringify((await service.api("GET", `/api/leads/${mql.id}/explain`)).body);
    expect(explain).toContain("email-click");
    expect(explain).toContain("email-open");

    // 4. It left the sequence; three days on, email 2 has not gone.
    const after = await nurtureOf(lead.id);
    expect(after.enrollments[0]).toMatchObject({ status: "exited", exitReason: "became mql" });
    clock.now += 3 * DAY;
    await settle();
    expect(smtp.to("dana@bigco.example")).toHaveLength(1);
  });

  it("a lead that unsubscribes by one-click gets nothing more; a GET alone never unsubscribes", async () => {
    // Consent from Segment's consent preferences rather than a trait.
    await becomeLead(
      "u-eve",
      { email: "eve@example.org", first_name: "Eve" },
      { consent: { categoryPreferences: { marketing: true, advertising: false } } },
    );
    const lead = await leadOf("eve@example.org");
    const mail = smtp.to("eve@example.org")[0] as ReceivedMail;
    expect(mail).toBeDefined();
    const before = (await leadOf("eve@example.org")).scores.engagement;
    const unsub = /^List-Unsubscribe: <([^>]+)>$/m.exec(mail.headers)?.[1] as string;

    // A scanner's GET shows the confirmation page only.
    const page = await fetch(unsub);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form method="post">');
    expect((await service.api("GET", "/api/email/suppressions")).body.suppressions).toEqual([]);

    // A click at once after delivery looks like a scanner's: stored, flagged, worth nothing.
    const guide = links(mail.parsed.html as string).find((h) =>
      h.includes(encodeURIComponent("https://acme.example/guide")),
    );
    expect((await fetch(guide as string, { redirect: "manual" })).status).toBe(302);
    await settle();
    const clicked = (await service.api("GET", `/api/leads/${lead.id}/events`)).body;
    expect(JSON.stringify(clicked)).toContain('"suspectedBot":true');
    expect((await leadOf("eve@example.org")).scores.engagement).toBe(before);

    // A link with another attempt's signature does nothing.
    const forged = unsub.replace(/\/[^/]+$/, "/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    expect((await fetch(forged, { method: "POST" })).status).toBe(400);

    // RFC 8058 one-click, as a mail client sends it.
    const oneClick = await fetch(unsub, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "List-Unsubscribe=One-Click",
    });
    expect(oneClick.status).toBe(200);
    await settle();
    const suppressions = (await service.api("GET", "/api/email/suppressions")).body.suppressions;
    expect(suppressions).toEqual([
      expect.objectContaining({ email: "eve@example.org", reason: "unsubscribed" }),
    ]);
    const state = await nurtureOf(lead.id);
    expect(state.enrollments[0]).toMatchObject({ status: "exited", exitReason: "unsubscribed" });
    expect(state.consent.map((c: { granted: boolean; source: string }) => [c.granted, c.source])).toEqual([
      [true, "context"],
      [false, "unsubscribe"],
    ]);
    // The model scores the unsubscribe: engagement falls by 20.
    expect((await leadOf("eve@example.org")).scores.engagement).toBe(before - 20);

    // The sequence's report: Dana's open and click, Eve's unsubscribe; the scanner's click is left out.
    const report = (await service.api("GET", "/api/sequences/welcome")).body;
    expect(report.emailsByStep["email-1"]).toEqual({ sent: 2 });
    expect(report.engagementByStep["email-1"]).toEqual({ opened: 1, clicked: 1, unsubscribed: 1 });
    expect(report.exitReasons).toEqual({ "became mql": 1, unsubscribed: 1 });

    // Days later: no second email, even if she enters another way.
    clock.now += 3 * DAY;
    await settle();
    expect(smtp.to("eve@example.org")).toHaveLength(1);
  });

  it("a lead without consent gets no email at all", async () => {
    await becomeLead("u-finn", { email: "finn@example.net", first_name: "Finn" });
    const lead = await leadOf("finn@example.net");
    expect(lead.stage).toBe("lead");
    const state = await nurtureOf(lead.id);
    expect(state.standing.consentGranted).toBe(false);
    clock.now += 3 * DAY;
    await settle();
    expect(smtp.to("finn@example.net")).toHaveLength(0);
    expect(state.emails).toEqual([]);
  });
});
