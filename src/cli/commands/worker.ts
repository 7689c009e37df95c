import type { Command } from "commander";
import pino from "pino";
import { seedRollupJobs } from "../../analytics/analytics-jobs.js";
import { loadConfig } from "../../config/load-config.js";
import { openDatabase } from "../../db/open-database.js";
import { QualifyError } from "../../errors.js";
import { createWebhookDispatcher } from "../../handoff/webhooks/create-dispatcher.js";
import { createEmailSender } from "../../nurture/email/create-email-sender.js";
import { createPipeline } from "../../pipeline/create-pipeline.js";
import { createScheduler } from "../../scheduler/create-scheduler.js";

/** How often the worker logs what it is doing. */
const STATUS_MS = 30_000;

/**
 * `qualify worker`: live processing only, beside `qualify start` processes, against one PostgreSQL.
 * The processes share the event partitions out among themselves; stop it with SIGINT or SIGTERM.
 */
export function registerWorker(program: Command): void {
  program
    .command("worker")
    .description(
      "run live processing only (no HTTP), sharing the work with the other processes on the same PostgreSQL",
    )
    .action(async () => {
      const config = loadConfig(process.env);
      if (!config.databaseUrl)
        throw new QualifyError(
          "CONFIG_INVALID",
          "qualify worker needs PostgreSQL: set DATABASE_URL. With the embedded database, `qualify start` processes events itself.",
        );
      const log = pino({ level: config.logLevel });
      const db = await openDatabase(config);
      const webhooks = createWebhookDispatcher(config, db, Date.now, () => log);
      const email = createEmailSender(config, db, Date.now, { log: () => log, listeningUrl: () => null });
      const pipeline = await createPipeline(config, db, Date.now, {
        onError: (e) => log.error({ err: e }, "pipeline batch failed; it will be retried"),
        onBatch: () => webhooks.wake(),
      });
      const scheduler = createScheduler(config, db, Date.now, () => log, { emailQueued: () => email.wake() });
      pipeline.start();
      await seedRollupJobs(db, Date.now());
      scheduler.start();
      webhooks.start();
      email.start();
      process.stdout.write("Qualify worker processing (PostgreSQL)\n");
      const status = setInterval(
        () =>
          log.info(
            { pipeline: pipeline.stats, jobs: scheduler.stats, webhooks: webhooks.stats, email: email.stats },
            "worker status",
          ),
        STATUS_MS,
      );
      await new Promise<void>((resolve) => {
        process.once("SIGINT", () => resolve());
        process.once("SIGTERM", () => resolve());
      });
      clearInterval(status);
      await scheduler.stop();
      await webhooks.stop();
      await email.stop();
      await pipeline.stop();
      await db.close();
    });
}
