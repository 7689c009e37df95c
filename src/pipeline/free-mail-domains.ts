/** Consumer mail providers: an address at one of these says nothing about the person's company. */
export const FREE_MAIL_DOMAINS: ReadonlySet<string> = new Set([
  "gmail.com",
  "googlemail.com",
  "yahoo.com",
  "yahoo.co.uk",
  "yahoo.fr",
  "ymail.com",
  "hotmail.com",
  "hotmail.co.uk",
  "hotmail.fr",
  "outlook.com",
  "live.com",
  "msn.com",
  "aol.com",
  "icloud.com",
  "me.com",
  "mac.com",
  "proton.me",
  "protonmail.com",
  "gmx.com",
  "gmx.de",
  "gmx.net",
  "web.de",
  "mail.com",
  "mail.ru",
  "yandex.com",
  "yandex.ru",
  "zoho.com",
  "qq.com",
  "163.com",
  "126.com",
  "fastmail.com",
  "hey.com",
  "tutanota.com",
  "rediffmail.com",
  "orange.fr",
  "free.fr",
  "laposte.net",
  "t-online.de",
  "libero.it",
  "comcast.net",
  "verizon.net",
  "att.net",
  "btinternet.com",
]);

/** The company domain of an email address, or null for free mail and malformed addresses. */
export function companyDomain(email: string): string | null {
  const at = email.lastIndexOf("@");
  if (at < 1) return null;
  const domain = email
    .slice(at + 1)
    .trim()
    .toLowerCase();
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(domain) || FREE_MAIL_DOMAINS.has(domain)) return null;
  return domain;
}

/** The domain an account's traits name (`domain`, or the host of `website`), lower-cased, without `www.`. */
export function accountDomain(traits: Record<string, unknown>): string | null {
  const raw =
    typeof traits.domain === "string"
      ? traits.domain
      : typeof traits.website === "string"
        ? traits.website
        : null;
  if (raw === null || raw.trim() === "") return null;
  let host = raw.trim().toLowerCase();
  try {
    if (host.includes("/")) host = new URL(host.includes("://") ? host : `https://${host}`).hostname;
  } catch {
    return null;
  }
  // A DNS name has at most 253 characters; a longer one would not fit the accounts' domain index.
  if (host.length > 253) return null;
  return host.replace(/^www\./, "") || null;
}
