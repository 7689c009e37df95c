import { availableParallelism } from "node:os";
import * as z from "zod";
import { QualifyError } from "../errors.js";

/**
 * The one configuration schema, read from the environment once at boot. A bad value fails at
 * once with the variable's name and the reason; nothing deeper reads `process.env`.
 */
const secret = (name: string) =>
  z
    .string()
    .min(16, { error: `${name} must be at least 16 characters` })
    .optional();

/** A whole number in a range, from a variable's text; the message names the range and the value. */
const wholeNumber = (min: number, max: number, fallback: number) => {
  const range = `expected a whole number from ${min} to ${max}`;
  return z
    .string()
    .regex(/^\d+$/, { error: (iss) => `${range}, got '${String(iss.input)}'` })
    .default(String(fallback))
    .transform(Number)
    .pipe(z.number().min(min, { error: range }).max(max, { error: range }));
};

const schema = z
  .object({
    QUALIFY_DATA_DIR: z.string().min(1).default("./data"),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, {
        error: (iss) => `expected a postgres:// URL, got '${String(iss.input)}'`,
      })
      .optional(),
    PORT: wholeNumber(0, 65535, 3000),
    HOST: z.string().min(1).default("0.0.0.0"),
    QUALIFY_MODEL: z.string().min(1).default("models/default.yaml"),
    QUALIFY_WRITE_KEY: secret("QUALIFY_WRITE_KEY"),
    QUALIFY_ADMIN_TOKEN: secret("QUALIFY_ADMIN_TOKEN"),
    QUALIFY_ADMIN_PASSWORD: z
      .string()
      .min(10, { error: "QUALIFY_ADMIN_PASSWORD must be at least 10 characters" })
      .optional(),
    QUALIFY_SESSION_HOURS: wholeNumber(1, 720, 12),
    QUALIFY_URL: z.url({ error: "expected an http(s) URL such as http://localhost:3000" }).optional(),
    QUALIFY_TOKEN: z.string().min(1).optional(),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    QUALIFY_DECAY_SWEEP_MINUTES: wholeNumber(1, 1_000_000_000, 1440),
    QUALIFY_PIPELINE_BATCH: wholeNumber(1, 10_000, 500),
    QUALIFY_PIPELINE_BATCH_MAX: wholeNumber(1, 100_000, 5_000),
    QUALIFY_PIPELINE_BATCH_TARGET_MS: wholeNumber(1, 60_000, 250),
    QUALIFY_SCHEDULER_POLL_MS: wholeNumber(10, 3_600_000, 1_000),
    QUALIFY_SCHEDULER_BATCH: wholeNumber(1, 10_000, 100),
    QUALIFY_ANALYTICS_ROLLUP_SECONDS: wholeNumber(1, 86_400, 60),
    QUALIFY_FIT_THREADS: wholeNumber(1, 64, Math.min(8, availableParallelism())),
    QUALIFY_BACKTEST_THREADS: wholeNumber(0, 64, Math.min(8, availableParallelism())),
    SMTP_URL: z
      .string()
      .regex(/^smtps?:\/\//, {
        error: (iss) => `expected an smtp:// or smtps:// URL, got '${String(iss.input)}'`,
      })
      .optional(),
    QUALIFY_SMTP_FROM: z.string().min(3).default("Qualify <qualify@localhost>"),
    QUALIFY_WEBHOOK_TIMEOUT_MS: wholeNumber(100, 300_000, 10_000),
    QUALIFY_WEBHOOK_RETRY_HOURS: wholeNumber(1, 720, 24),
    QUALIFY_WEBHOOK_POLL_MS: wholeNumber(10, 3_600_000, 1_000),
    QUALIFY_WEBHOOK_CONCURRENCY: wholeNumber(1, 1_000, 16),
    QUALIFY_PUBLIC_URL: z
      .url({
        error: "expected an http(s) URL that recipients can reach, such as https://qualify.example.com",
      })
      .optional(),
    QUALIFY_EMAIL_POLL_MS: wholeNumber(10, 3_600_000, 1_000),
    QUALIFY_EMAIL_CONCURRENCY: wholeNumber(1, 100, 8),
    QUALIFY_DB_POOL_SIZE: wholeNumber(1, 1_000, 10),
    QUALIFY_DB_STATEMENT_TIMEOUT_MS: wholeNumber(1, 86_400_000, 60_000),
    QUALIFY_DB_CONNECT_TIMEOUT_MS: wholeNumber(1, 600_000, 5_000),
  })
  .superRefine((e, ctx) => {
    if (e.QUALIFY_PIPELINE_BATCH_MAX < e.QUALIFY_PIPELINE_BATCH)
      ctx.addIssue({
        code: "custom",
        path: ["QUALIFY_PIPELINE_BATCH_MAX"],
        message: `must be at least QUALIFY_PIPELINE_BATCH (${e.QUALIFY_PIPELINE_BATCH}), got ${e.QUALIFY_PIPELINE_BATCH_MAX}`,
      });
  });

export interface Config {
  /** Where embedded PGlite keeps its data, when no DATABASE_URL is set. */
  dataDir: string;
  /** PostgreSQL connection string; when set, PGlite is not used. */
  databaseUrl: string | undefined;
  port: number;
  host: string;
  /** The model file made active at first start. */
  modelFile: string;
  /** Used at first start on an empty database; generated when unset. */
  writeKey: string | undefined;
  adminToken: string | undefined;
  /** The first admin's dashboard password at first start; unset: one is generated and printed once. */
  adminPassword: string | undefined;
  /** How long a dashboard login lasts. */
  sessionHours: number;
  /** Where the CLI finds a running server, and the token it sends. */
  serverUrl: string | undefined;
  token: string | undefined;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** How often stored scores are refreshed for decay. */
  decaySweepMinutes: number;
  /** Events the pipeline takes per transaction (more while it catches up: `pipelineBatchMax`). */
  pipelineBatch: number;
  /** The most events a batch takes while processing catches up on a backlog. */
  pipelineBatchMax: number;
  /** While catching up, batches are sized to take about this long. */
  pipelineBatchTargetMs: number;
  /** How often the scheduler looks for due jobs. */
  schedulerPollMs: number;
  /** Due jobs the scheduler claims at once (nurture steps among them run as one batch). */
  schedulerBatch: number;
  /** How often the analytics rollups take in new facts when nothing else asks. */
  analyticsRollupMs: number;
  /** Worker threads a model fit spreads its cross-validation folds over. */
  fitThreads: number;
  /** Worker threads a backtest replays leads on (0: the server's own thread). */
  backtestThreads: number;
  /** Where notification emails are sent from (SMTP); unset: email subscriptions cannot send. */
  smtpUrl: string | undefined;
  /** The From address of notification emails. */
  smtpFrom: string;
  /** The longest one webhook request (or SMTP exchange) may take. */
  webhookTimeoutMs: number;
  /** How long a failing delivery is retried before it is dead-lettered. */
  webhookRetryHours: number;
  /** How often the notification sender looks for work when nothing wakes it. */
  webhookPollMs: number;
  /** Webhook requests in flight at once per subscription. */
  webhookConcurrency: number;
  /** The base URL of tracking and unsubscribe links in marketing email; unset: where the API listens. */
  publicUrl: string | undefined;
  /** How often the marketing email sender looks for queued email when nothing wakes it. */
  emailPollMs: number;
  /** SMTP exchanges at once per process for marketing email. */
  emailConcurrency: number;
  /** PostgreSQL only: connections in the pool. */
  dbPoolSize: number;
  /** PostgreSQL only: the longest a statement may run. */
  dbStatementTimeoutMs: number;
  /** PostgreSQL only: the longest connecting, or waiting for a free pooled connection, may take. */
  dbConnectTimeoutMs: number;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = schema.safeParse(
    Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== "")),
    { reportInput: true },
  );
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => ({ path: String(i.path[0] ?? ""), message: i.message }));
    throw new QualifyError("CONFIG_INVALID", "invalid configuration", details);
  }
  const e = parsed.data;
  return {
    dataDir: e.QUALIFY_DATA_DIR,
    databaseUrl: e.DATABASE_URL,
    port: e.PORT,
    host: e.HOST,
    modelFile: e.QUALIFY_MODEL,
    writeKey: e.QUALIFY_WRITE_KEY,
    adminToken: e.QUALIFY_ADMIN_TOKEN,
    adminPassword: e.QUALIFY_ADMIN_PASSWORD,
    sessionHours: e.QUALIFY_SESSION_HOURS,
    serverUrl: e.QUALIFY_URL,
    token: e.QUALIFY_TOKEN,
    logLevel: e.LOG_LEVEL,
    decaySweepMinutes: e.QUALIFY_DECAY_SWEEP_MINUTES,
    pipelineBatch: e.QUALIFY_PIPELINE_BATCH,
    pipelineBatchMax: e.QUALIFY_PIPELINE_BATCH_MAX,
    pipelineBatchTargetMs: e.QUALIFY_PIPELINE_BATCH_TARGET_MS,
    schedulerPollMs: e.QUALIFY_SCHEDULER_POLL_MS,
    schedulerBatch: e.QUALIFY_SCHEDULER_BATCH,
    analyticsRollupMs: e.QUALIFY_ANALYTICS_ROLLUP_SECONDS * 1000,
    fitThreads: e.QUALIFY_FIT_THREADS,
    backtestThreads: e.QUALIFY_BACKTEST_THREADS,
    smtpUrl: e.SMTP_URL,
    smtpFrom: e.QUALIFY_SMTP_FROM,
    webhookTimeoutMs: e.QUALIFY_WEBHOOK_TIMEOUT_MS,
    webhookRetryHours: e.QUALIFY_WEBHOOK_RETRY_HOURS,
    webhookPollMs: e.QUALIFY_WEBHOOK_POLL_MS,
    webhookConcurrency: e.QUALIFY_WEBHOOK_CONCURRENCY,
    publicUrl: e.QUALIFY_PUBLIC_URL,
    emailPollMs: e.QUALIFY_EMAIL_POLL_MS,
    emailConcurrency: e.QUALIFY_EMAIL_CONCURRENCY,
    dbPoolSize: e.QUALIFY_DB_POOL_SIZE,
    dbStatementTimeoutMs: e.QUALIFY_DB_STATEMENT_TIMEOUT_MS,
    dbConnectTimeoutMs: e.QUALIFY_DB_CONNECT_TIMEOUT_MS,
  };
}
