import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { seedRollupJobs } from "../analytics/analytics-jobs.js";
import type { Config } from "../config/load-config.js";
import { analyzeStale, autovacuumOff } from "../db/analyze-stale.js";
import { advertiseLock } from "../db/data-dir-lock.js";
import type { Database } from "../db/database.js";
import { openDatabase } from "../db/open-database.js";
import { createWebhookDispatcher } from "../handoff/webhooks/create-dispatcher.js";
import { EventWriter } from "../ingest/append-events.js";
import { createEmailSender } from "../nurture/email/create-email-sender.js";
import { createPipeline } from "../pipeline/create-pipeline.js";
import type { Pipeline } from "../pipeline/run-pipeline.js";
import { createScheduler } from "../scheduler/create-scheduler.js";
import { type BootstrapResult, bootstrapWorkspace } from "./bootstrap-workspace.js";
import { buildApp } from "./build-app.js";
import { Metrics } from "./metrics.js";
import type { Service } from "./service.js";

/**
 * How often a service without autovacuum looks for stale planner statistics (`analyzeStale`: one
 * catalogue read; a table is analysed once 10 % of it changed). A minute was too long for a
 * database filling from empty: the plans of the first minute's statements grew with the table.
 */
const ANALYZE_EVERY_MS = 5_000;

export interface RunningService {
  service: Service;
  app: FastifyInstance;
  /** Set when listening. */
  url: string | null;
  bootstrap: BootstrapResult;
  close(): Promise<void>;
}

/**
 * Opens (and migrates) the database, bootstraps the workspace at first start, starts live
 * processing (unless `processing` is false: an API-only process beside workers), and serves HTTP
 * unless `listen` is false (the CLI runs the API in-process that way).
 */
export async function startService(
  config: Config,
  opts: { listen?: boolean; clock?: () => number; db?: Database; processing?: boolean } = {},
): Promise<RunningService> {
  const clock = opts.clock ?? Date.now;
  // Tests pass a database of their own (a clone of the migrated template); it is closed with the service.
  const db = opts.db ?? (await openDatabase(config));
  let app: FastifyInstance | null = null;
  let pipeline: Pipeline | null = null;
  let writer: EventWriter | null = null;
  let url: string | null = null;
  const webhooks = createWebhookDispatcher(config, db, clock, () => app?.log);
  const email = createEmailSender(config, db, clock, {
    log: () => app?.log,
    listeningUrl: () => url,
    append: (events) => (writer as EventWriter).append(events),
  });
  const jobs = createScheduler(config, db, clock, () => app?.log, { emailQueued: () => email.wake() });
  try {
    const bootstrap = await bootstrapWorkspace(db, {
      modelFile: config.modelFile,
      writeKey: config.writeKey,
      adminToken: config.adminToken,
      adminPassword: config.adminPassword,
    });
    await seedRollupJobs(db, clock());
    const metrics = new Metrics();
    const p = await createPipeline(config, db, clock, {
      onError: (e) => app?.log.error({ err: e }, "pipeline batch failed; it will be retried"),
      onBatch: (processed, transitions, lag) => {
        metrics.processed.inc(processed);
        metrics.transitions.inc(transitions);
        metrics.lag.set(lag);
        // The batch may have written outbox messages: fan them out now.
        webhooks.wake();
      },
    });
    pipeline = p;
    // Commits in flight at once: at most half the pool, so that reads and processing still get
    // connections (PGlite takes one at a time anyway).
    const events = new EventWriter(db, () => p.wake(), {
      commits: db.kind === "postgres" ? Math.max(1, Math.min(4, Math.floor(config.dbPoolSize / 2))) : 1,
    });
    writer = events;
    const service: Service = {
      db,
      config,
      pipeline: p,
      scheduler: jobs,
      webhooks,
      email,
      writer: events,
      metrics,
      clock,
      localToken: `local_${randomBytes(24).toString("base64url")}`,
    };
    app = await buildApp(service);
    // PGlite has no autovacuum, and a PostgreSQL may run with it off: keep the planner's
    // statistics current in its stead (without them the pending-events read sorts the whole log).
    const noAutovacuum = await autovacuumOff(db);
    if (noAutovacuum && db.kind === "postgres")
      app.log.warn(
        "PostgreSQL runs with autovacuum off: Qualify refreshes the statistics itself, but dead rows pile up until you vacuum (docs/scaling.md)",
      );
    const analyze =
      noAutovacuum && opts.processing !== false
        ? setInterval(() => {
            analyzeStale(db).catch((e) => app?.log.warn({ err: e }, "refreshing statistics failed"));
          }, ANALYZE_EVERY_MS).unref()
        : null;
    if (opts.processing !== false) {
      p.start();
      jobs.start();
      webhooks.start();
      email.start();
    }
    if (opts.listen !== false) {
      await app.listen({ port: config.port, host: config.host });
      const address = app.server.address();
      const port = typeof address === "object" && address ? address.port : config.port;
      // A wildcard address is reached on loopback; a specific one only on itself.
      const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
      url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
      if (!config.databaseUrl && !opts.db)
        advertiseLock(config.dataDir, { url, token: service.localToken as string });
    }
    const running = app;
    return {
      service,
      app: running,
      url,
      bootstrap,
      async close() {
        if (analyze) clearInterval(analyze);
        await running.close();
        // Requests still committing are answered before the database closes.
        await events.flushed();
        await jobs.stop();
        await webhooks.stop();
        await email.stop();
        await p.stop();
        await db.close();
      },
    };
  } catch (e) {
    await app?.close().catch(() => undefined);
    await jobs.stop().catch(() => undefined);
    await webhooks.stop().catch(() => undefined);
    await email.stop().catch(() => undefined);
    await pipeline?.stop().catch(() => undefined);
    await db.close();
    throw e;
  }
}
