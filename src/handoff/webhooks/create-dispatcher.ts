import type { Config } from "../../config/load-config.js";
import type { Database } from "../../db/database.js";
import { WebhookDispatcher } from "./dispatcher.js";

/** The notification sender as `qualify start` and `qualify worker` run it, from the configuration. */
export function createWebhookDispatcher(
  config: Config,
  db: Database,
  clock: () => number,
  log: () => { error(obj: object, msg: string): void } | undefined,
): WebhookDispatcher {
  return new WebhookDispatcher(db, {
    clock,
    pollMs: config.webhookPollMs,
    timeoutMs: config.webhookTimeoutMs,
    retryWindowMs: config.webhookRetryHours * 3_600_000,
    perSubscription: config.webhookConcurrency,
    smtpUrl: config.smtpUrl,
    smtpFrom: config.smtpFrom,
    onError: (e) => log()?.error({ err: e }, "webhook delivery failed; it will try again"),
  });
}
