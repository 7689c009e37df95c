import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Queryable } from "../../db/database.js";

/**
 * Signed links in marketing email: the open pixel, click redirects and unsubscribe. Each carries
 * the attempt (one email to one address) and an HMAC over its purpose, the attempt and, for a
 * click, the target URL, keyed by a secret of the workspace. A changed URL or attempt fails the
 * check, so a link never redirects where no one signed and never unsubscribes anyone else.
 */

export type LinkPurpose = "open" | "click" | "unsubscribe";

const sign = (key: string, purpose: LinkPurpose, attemptId: string, url = "") =>
  createHmac("sha256", key).update(`${purpose}\n${attemptId}\n${url}`).digest("base64url").slice(0, 32);

export function signLink(key: string, purpose: LinkPurpose, attemptId: string, url?: string): string {
  return sign(key, purpose, attemptId, url);
}

export function verifyLink(
  key: string,
  purpose: LinkPurpose,
  attemptId: string,
  signature: string,
  url?: string,
): boolean {
  const want = Buffer.from(sign(key, purpose, attemptId, url));
  const got = Buffer.from(signature);
  return want.length === got.length && timingSafeEqual(want, got);
}

export interface TrackingUrls {
  open: string;
  unsubscribe: string;
  click(url: string): string;
}

/** The tracking URLs of one attempt under the public base URL. */
export function trackingUrls(base: string, key: string, attemptId: string): TrackingUrls {
  const root = base.replace(/\/+$/, "");
  const id = encodeURIComponent(attemptId);
  return {
    open: `${root}/e/o/${id}/${signLink(key, "open", attemptId)}.gif`,
    unsubscribe: `${root}/e/u/${id}/${signLink(key, "unsubscribe", attemptId)}`,
    click: (url) =>
      `${root}/e/c/${id}/${signLink(key, "click", attemptId, url)}?u=${encodeURIComponent(url)}`,
  };
}

const KEY = "nurture.link_key";

/** The workspace's link-signing secret, made at first use and kept in `service_state`. */
export async function linkKey(q: Queryable, ws: string): Promise<string> {
  const read = () =>
    q.query<{ value: string }>(
      "select value #>> '{}' as value from service_state where workspace_id = $1 and key = $2",
      [ws, KEY],
    );
  let rows = await read();
  if (!rows[0]) {
    await q.query(
      `insert into service_state (workspace_id, key, value) values ($1, $2, to_jsonb($3::text))
       on conflict (workspace_id, key) do nothing`,
      [ws, KEY, randomBytes(32).toString("base64url")],
    );
    rows = await read();
  }
  return rows[0]?.value as string;
}
