import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EventInput } from "../../src/engine/types.js";
import { consentChanges, consentGranted, readConsent } from "../../src/nurture/consent.js";
import {
  composeEmail,
  stepMessageId,
  trackedLinks,
  UNSUBSCRIBE_PLACEHOLDER,
} from "../../src/nurture/email/compose-email.js";
import { smtpOutcome } from "../../src/nurture/email/smtp-outcome.js";
import { signLink, trackingUrls, verifyLink } from "../../src/nurture/email/tracking-links.js";

/** The pure parts of nurture email: consent, composing, signed links, what an SMTP failure means. */

const KEY = "k".repeat(43);
const settings = { consentTrait: "email_consent", consentCategory: "marketing" };

const event = (i: number, traits?: Record<string, unknown>, prefs?: Record<string, unknown>): EventInput => ({
  kind: "event",
  id: `m${i}`,
  at: 1_000 + i,
  type: "identify",
  ...(traits ? { traits } : {}),
  ...(prefs ? { context: { consent: { categoryPreferences: prefs } } } : {}),
});

describe("consent", () => {
  it("reads a trait or Segment's consent preferences; a trait wins within one event", () => {
    expect(readConsent("Granted")).toBe(true);
    expect(readConsent("opt-out")).toBe(false);
    expect(readConsent("maybe")).toBeUndefined();
    const changes = consentChanges(
      [
        event(1, undefined, { marketing: true }),
        event(2, { email_consent: false }, { marketing: true }),
        event(3, { name: "x" }),
      ],
      null,
      settings,
    );
    expect(changes).toEqual([
      { granted: true, source: "context", inputId: "m1", at: 1001 },
      { granted: false, source: "trait", inputId: "m2", at: 1002 },
    ]);
  });

  it("the workspace default applies only when nothing was stated", () => {
    expect(consentGranted(null, { defaultConsent: "opt-out" })).toBe(true);
    expect(consentGranted(null, { defaultConsent: "opt-in" })).toBe(false);
    expect(consentGranted(false, { defaultConsent: "opt-out" })).toBe(false);
  });

  it("changes alternate, end at the last statement, and a replay from there finds none (property)", () => {
    const statement = fc.option(
      fc.constantFrom<unknown>(true, false, "granted", "denied", "yes", "no", "unclear"),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(statement, statement)), fc.option(fc.boolean()), (pairs, start) => {
        const events = pairs.map(([t, c], i) =>
          event(i, t === null ? undefined : { email_consent: t }, c === null ? undefined : { marketing: c }),
        );
        const changes = consentChanges(events, start, settings);
        let known = start;
        for (const c of changes) {
          expect(c.granted).not.toBe(known);
          known = c.granted;
        }
        const stated = events
          .map(
            (e) =>
              readConsent(e.traits?.email_consent) ??
              readConsent(
                (e.context?.consent as { categoryPreferences: Record<string, unknown> } | undefined)
                  ?.categoryPreferences.marketing,
              ),
          )
          .filter((v) => v !== undefined);
        expect(known).toBe(stated.length > 0 ? stated.at(-1) : start);
        expect(consentChanges(events.slice(-1), known, settings)).toEqual([]);
      }),
    );
  });
});

describe("composing a marketing email", () => {
  const urls = trackingUrls("https://q.example/", KEY, "att-1");
  const mail = composeEmail(
    {
      subject: "Hi",
      html: `<p>See <a href="https://acme.example/pricing?a=1&amp;b=2">pricing</a>, <a href='https://acme.example/guide'>guide</a>, <a href="mailto:x@acme.example">mail</a> or <a href="${UNSUBSCRIBE_PLACEHOLDER}">leave</a>.</p>`,
      text: `Pricing: https://acme.example/pricing\nLeave: ${UNSUBSCRIBE_PLACEHOLDER}`,
    },
    {
      from: "A <a@acme.example>",
      to: "d@b.example",
      messageId: stepMessageId("enr-1", "email 1"),
      postalAddress: "1 Main St",
      urls,
    },
  );

  it("carries List-Unsubscribe with one-click, the postal address and an unsubscribe link in both parts", () => {
    expect(mail.headers["List-Unsubscribe"]).toBe(`<${urls.unsubscribe}>`);
    expect(mail.headers["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");
    expect(mail.messageId).toBe("<enr-1.email%201@qualify>");
    for (const part of [mail.html, mail.text]) expect(part).toContain("1 Main St");
    expect(mail.text).toContain(`Leave: ${urls.unsubscribe}`);
    expect(mail.text).toContain(`Unsubscribe: ${urls.unsubscribe}`);
    expect(mail.html).toContain(`<img src="${urls.open}"`);
  });

  it("rewrites web links as signed redirects, leaving mailto and unsubscribe alone", () => {
    const hrefs = [...mail.html.matchAll(/href=["']([^"']+)["']/g)].map((m) =>
      (m[1] as string).replace(/&amp;/g, "&"),
    );
    expect(hrefs).toContain(urls.click("https://acme.example/pricing?a=1&b=2"));
    expect(hrefs).toContain(urls.click("https://acme.example/guide"));
    expect(hrefs).toContain("mailto:x@acme.example");
    expect(hrefs.filter((h) => h === urls.unsubscribe)).toHaveLength(2);
    expect(
      trackedLinks(
        `<a href="https://a.example">1</a><a href="https://a.example">2</a><a href="${UNSUBSCRIBE_PLACEHOLDER}">u</a>`,
      ),
    ).toEqual(["https://a.example"]);
  });

  it("a signature holds only for its purpose, attempt and URL (property)", () => {
    fc.assert(
      fc.property(fc.webUrl(), fc.webUrl(), fc.uuid(), fc.uuid(), (url, other, a, b) => {
        const sig = signLink(KEY, "click", a, url);
        expect(verifyLink(KEY, "click", a, sig, url)).toBe(true);
        if (other !== url) expect(verifyLink(KEY, "click", a, sig, other)).toBe(false);
        if (a !== b) expect(verifyLink(KEY, "click", b, sig, url)).toBe(false);
        expect(verifyLink(KEY, "unsubscribe", a, sig)).toBe(false);
        expect(verifyLink("x".repeat(43), "click", a, sig, url)).toBe(false);
      }),
    );
  });
});

describe("what an SMTP failure means", () => {
  it("never resends what may have gone", () => {
    expect(smtpOutcome({ code: "ESOCKET", originalCode: "ECONNREFUSED" })).toBe("retry");
    expect(smtpOutcome({ code: "ETIMEDOUT", timeoutType: "CONNECT_TIMEOUT" })).toBe("retry");
    // nodemailer reports any socket error as ECONNECTION: the connection may have dropped mid-DATA.
    expect(smtpOutcome({ code: "ECONNECTION", command: "CONN" })).toBe("unknown");
    expect(smtpOutcome({ code: "EENVELOPE", responseCode: 451 })).toBe("retry");
    expect(smtpOutcome({ code: "EENVELOPE", responseCode: 550 })).toBe("bounce");
    expect(smtpOutcome({ code: "EAUTH", responseCode: 535 })).toBe("retry");
    expect(smtpOutcome({ code: "ETIMEDOUT", command: "DATA" })).toBe("unknown");
    expect(smtpOutcome(new Error("socket closed"))).toBe("unknown");
  });
});
