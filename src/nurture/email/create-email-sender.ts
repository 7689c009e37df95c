import type { Config } from "../../config/load-config.js";
import type { Database } from "../../db/database.js";
import { appendEvents, type NewEvent } from "../../ingest/append-events.js";
import { EmailSender } from "./email-sender.js";

/** The marketing email sender as `qualify start` and `qualify worker` run it, from the configuration. */
export function createEmailSender(
  config: Config,
  db: Database,
  clock: () => number,
  o: {
    log: () => { error(obj: object, msg: string): void } | undefined;
    /** Where the API listens, once it does: the base of links when QUALIFY_PUBLIC_URL is unset. */
    listeningUrl: () => string | null;
    /** Events for the pipeline; by default appended directly, then the pipeline polls for them. */
    append?: (events: NewEvent[]) => Promise<unknown>;
  },
): EmailSender {
  return new EmailSender(db, {
    clock,
    pollMs: config.emailPollMs,
    timeoutMs: config.webhookTimeoutMs,
    smtpUrl: config.smtpUrl,
    defaultFrom: config.smtpFrom,
    publicUrl: () => config.publicUrl ?? o.listeningUrl() ?? `http://localhost:${config.port}`,
    concurrency: config.emailConcurrency,
    append: o.append ?? ((events) => appendEvents(db, events)),
    onError: (e) => o.log()?.error({ err: e }, "marketing email sender failed; it will try again"),
  });
}
