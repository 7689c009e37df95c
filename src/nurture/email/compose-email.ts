import type { TrackingUrls } from "./tracking-links.js";

/**
 * Turns a rendered marketing email into the message that goes out (pure). Every one carries:
 * - an unsubscribe link in the body, and `List-Unsubscribe` with `List-Unsubscribe-Post:
 *   List-Unsubscribe=One-Click` (RFC 8058), so mail clients offer one-click unsubscribing;
 * - the sender's postal address;
 * - an open pixel, and its web links rewritten as signed click redirects (HTML part).
 * Templates may place the unsubscribe link themselves with `{{ unsubscribe_url }}`, which renders
 * as UNSUBSCRIBE_PLACEHOLDER until the signed URL is known; the footer carries it regardless.
 */

export const UNSUBSCRIBE_PLACEHOLDER = "https://unsubscribe.qualify.invalid/";

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

export interface OutgoingEmail {
  from: string;
  to: string;
  subject: string;
  html: string;
  text: string;
  messageId: string;
  headers: Record<string, string>;
}

const HREF = /(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?:\/\/[^"']+)\2/gi;

const unescapeAttr = (s: string) =>
  s
    .replace(/&amp;/g, "&")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">");
/** Text made safe inside HTML content and attribute values. */
export const escapeHtml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** The distinct web links of an HTML part that get click tracking (the unsubscribe link does not). */
export function trackedLinks(html: string): string[] {
  const out = new Set<string>();
  for (const m of html.matchAll(HREF)) {
    const url = unescapeAttr(m[3] as string);
    if (url !== UNSUBSCRIBE_PLACEHOLDER) out.add(url);
  }
  return [...out];
}

/** The Message-ID of a step's email: the same for every attempt, derived from enrollment and step. */
export const stepMessageId = (enrollmentId: string, stepId: string, domain = "qualify") =>
  `<${enrollmentId}.${encodeURIComponent(stepId)}@${domain}>`;

export function composeEmail(
  rendered: RenderedEmail,
  o: { from: string; to: string; messageId: string; postalAddress: string; urls: TrackingUrls },
): OutgoingEmail {
  const unsub = o.urls.unsubscribe;
  const withUnsub = (s: string, inHtml: boolean) =>
    s.split(UNSUBSCRIBE_PLACEHOLDER).join(inHtml ? escapeHtml(unsub) : unsub);
  const tracked = withUnsub(rendered.html, true).replace(
    HREF,
    (all, start: string, quote: string, href: string) => {
      const url = unescapeAttr(href);
      if (url === unsub) return all;
      return `${start}${quote}${escapeHtml(o.urls.click(url))}${quote}`;
    },
  );
  const footerHtml =
    `<hr><p style="font-size:12px;color:#666">${escapeHtml(o.postalAddress)}<br>` +
    `<a href="${escapeHtml(unsub)}">Unsubscribe</a> from these emails.</p>` +
    `<img src="${escapeHtml(o.urls.open)}" width="1" height="1" alt="" style="display:none">`;
  const html = /<\/body>/i.test(tracked)
    ? tracked.replace(/<\/body>/i, `${footerHtml}</body>`)
    : tracked + footerHtml;
  const text = `${withUnsub(rendered.text, false).trimEnd()}\n\n--\n${o.postalAddress}\nUnsubscribe: ${unsub}\n`;
  return {
    from: o.from,
    to: o.to,
    subject: rendered.subject,
    html,
    text,
    messageId: o.messageId,
    headers: {
      "List-Unsubscribe": `<${unsub}>`,
      "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
      // Bulk marketing, so auto-responders stay quiet.
      Precedence: "bulk",
      "Auto-Submitted": "auto-generated",
    },
  };
}
