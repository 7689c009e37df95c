import type { Config } from "../config/load-config.js";
import type { Database } from "../db/database.js";
import type { WebhookDispatcher } from "../handoff/webhooks/dispatcher.js";
import type { EventWriter } from "../ingest/append-events.js";
import type { EmailSender } from "../nurture/email/email-sender.js";
import type { Pipeline } from "../pipeline/run-pipeline.js";
import type { Scheduler } from "../scheduler/run-scheduler.js";
import type { Metrics } from "./metrics.js";

/** What the HTTP routes work with: built once at start by `startService`, passed in, never global. */
export interface Service {
  db: Database;
  config: Config;
  pipeline: Pipeline;
  /**
   * Durable scheduled jobs: register handlers here. It runs them only in a processing process; an
   * API-only one (`--no-processing`) still schedules jobs, in its transactions, for the others.
   */
  scheduler: Scheduler;
  /**
   * Webhook and email notifications from the outbox: sends only in a processing process; routes
   * call `wake()` after making a delivery due.
   */
  webhooks: WebhookDispatcher;
  /** Marketing email (nurture): sends queued attempts only in a processing process. */
  email: EmailSender;
  writer: EventWriter;
  metrics: Metrics;
  /** Epoch milliseconds; the one clock of the service (tests may pass their own). */
  clock: () => number;
  /**
   * A token minted at start and written to the lock file of the PGlite data directory, so that the
   * CLI on this machine can use the API while the server holds the database. Acts as an admin.
   */
  localToken: string | null;
}
