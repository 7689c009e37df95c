import type { Queryable } from "../../db/database.js";
import { loadSettings } from "../nurture-settings.js";
import type { TrackedAttempt } from "./tracked-attempt.js";

/**
 * Records a click and says whether a bot (a mail security scanner) probably made it: it came
 * within a few seconds of sending (`botClickWindow`), or the email's links were all clicked within
 * a couple of seconds of each other. Either way the click is stored and becomes an event; the
 * default model gives `suspectedBot` clicks no points.
 */

/** Clicks on every link of an email within this long of each other are a scanner's. */
const ALL_AT_ONCE_MS = 2_000;

export async function recordClick(
  q: Queryable,
  a: TrackedAttempt,
  url: string,
  now: number,
): Promise<boolean> {
  const settings = await loadSettings(q, a.ws);
  const recent = await q.query<{ url: string }>(
    "select distinct url from email_clicks where attempt_id = $1 and at > $2",
    [a.id, now - ALL_AT_ONCE_MS],
  );
  const urls = new Set([...recent.map((r) => r.url), url]);
  const suspected =
    a.sentAt === null || now - a.sentAt < settings.botClickWindow || (a.links >= 2 && urls.size >= a.links);
  await q.query(
    "insert into email_clicks (workspace_id, attempt_id, url, at, suspected_bot) values ($1, $2, $3, $4, $5)",
    [a.ws, a.id, url, now, suspected],
  );
  return suspected;
}
