import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import nodemailer, { type Transporter } from "nodemailer";
import { SMTPServer } from "smtp-server";
import { type Config, loadConfig } from "../src/config/load-config.js";
import type { Database, Queryable } from "../src/db/database.js";
import { migrate } from "../src/db/migrate.js";
import { openPglite } from "../src/db/open-pglite.js";
import { openPostgres } from "../src/db/open-postgres.js";
import { registerHandoffJobs } from "../src/handoff/handoff-jobs.js";
import { appendEvents } from "../src/ingest/append-events.js";
import { checkLead, LEAD_JOB } from "../src/nurture/check-lead.js";
import { composeEmail } from "../src/nurture/email/compose-email.js";
import { EmailSender } from "../src/nurture/email/email-sender.js";
import { trackingUrls } from "../src/nurture/email/tracking-links.js";
import { STEP_JOB } from "../src/nurture/enrollments.js";
import { saveSettings } from "../src/nurture/nurture-settings.js";
import { renderTemplate, templateVarsFor } from "../src/nurture/render-template.js";
import { runStep, runSteps } from "../src/nurture/run-step.js";
import { saveSequence } from "../src/nurture/sequence-store.js";
import { loadTemplate } from "../src/nurture/template-spec.js";
import { saveTemplate } from "../src/nurture/template-store.js";
import type { Job } from "../src/scheduler/jobs-table.js";
import { Scheduler } from "../src/scheduler/run-scheduler.js";
import { fmt, verdict } from "./measure.js";
import { freshDatabase } from "./qualify-processes.js";

/**
 * Nurture sequences under load (issue 6): the durable scheduler running `nurture.step` jobs and the
 * marketing email sender, built as `qualify start` builds them (one Scheduler, one EmailSender, the
 * configuration's defaults: polls of 1 s, claims of QUALIFY_SCHEDULER_BATCH (100) jobs, the step jobs among them as one batch, 8 sends at a time, a pool of 10), in
 * this process, on a database of their own. The SMTP sink (smtp-server) runs in a child process,
 * as a mail server would, so that this process's CPU is the service's alone.
 *
 * Setup: BENCH_LEADS (100,000) leads with an email and stated consent, written with SQL; two
 * templates and the 3-step sequence `drip` (email-1, pause 2d, email-2) through the stores;
 * settings without quiet hours or frequency cap. Enrollments are written with SQL, each with its
 * `nurture.step` job (key `step:<id>`), as `enroll` leaves them: half at email-1, half at the pause,
 * which is over by their due time (their job ends the pause, sends email-2 and completes). Every
 * step job so sends exactly one email; the two kinds alternate in due order.
 *
 * 0. Limits, same run: the scheduler's own rate on no-op jobs (claim, lock, complete: a batch at a time), and the
 *    sink's accept rate for the same messages sent with nodemailer directly, 8 at a time.
 * 1. Throughput, transport stubbed at the boundary (`sendMail` answers at once): every lead
 *    enrolled, all due (a backlog), for BENCH_THROUGHPUT_SECONDS (60) or until all is done: step
 *    jobs/s, sequence steps/s, emails/s, and CPU per step job (this process, PostgreSQL's servers).
 * 2. The same with the SMTP sink.
 * 3. Lag at the target rate: step jobs due at BENCH_RATE/s (1,000) for BENCH_SECONDS (60), SMTP
 *    sink; then up to BENCH_DRAIN_SECONDS (60) to catch up. For each job the lag from its due time
 *    to its handler starting (a job still waiting at the end counts with its wait so far, a lower
 *    bound: the figure is then marked ≥), and for each email from the step's due time to the
 *    sink accepting it. Target: p99 < 5 s.
 * 4. The same at a rate the scheduler sustains here (half of part 1's), for the lag floor.
 * 5. Entry: `nurture.lead` jobs for every lead, each enrolling it (`checkLead`, a segment entry).
 *
 * On PGlite always, on PostgreSQL when DATABASE_URL is set (a database of its own, dropped after).
 * BENCH_ONLY=pglite,postgres picks databases, BENCH_PARTS=limits,stub,smtp,lag,floor,entry parts;
 * BENCH_RUNNERS schedulers in this process (1; more stand for `qualify worker` processes);
 * BENCH_SQL_TIMES=1 adds the wall time of each statement per step job.
 */

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const LEADS = env("BENCH_LEADS", 100_000);
const PGLITE_LEADS = env("BENCH_PGLITE_LEADS", LEADS);
const RATE = env("BENCH_RATE", 1_000);
const SECONDS = env("BENCH_SECONDS", 60);
const DRAIN_SECONDS = env("BENCH_DRAIN_SECONDS", 60);
const THROUGHPUT_SECONDS = env("BENCH_THROUGHPUT_SECONDS", 60);
const LIMIT_SECONDS = env("BENCH_LIMIT_SECONDS", 10);
const ENTRY_SECONDS = env("BENCH_ENTRY_SECONDS", 20);
const RUNNERS = env("BENCH_RUNNERS", 1);
const TARGET_P99_MS = 5_000;
const TARGET_RATE = 1_000;
/** Lag runs: the first jobs fall due this long after they are written. */
const LEAD_IN_MS = 5_000;
const ONLY = new Set((process.env.BENCH_ONLY ?? "pglite,postgres").split(","));
const PARTS = new Set((process.env.BENCH_PARTS ?? "limits,stub,smtp,lag,floor,entry").split(","));
const SQL_TIMES = Boolean(process.env.BENCH_SQL_TIMES);
const WS = "default";
const DAY = 86_400_000;
const PAUSE_MS = 2 * DAY;

const out = (line = "") => process.stdout.write(`${line}\n`);
const note = (line: string) => process.stderr.write(`  … ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rate = (n: number, ms: number) => (n / ms) * 1000;
const perSecond = (n: number, ms: number) => `${fmt(rate(n, ms))}/s`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const WELCOME = `
id: tpl-welcome
subject: "Welcome, {{ trait.first_name | default: 'there' }}"
html: |
  <p>Hi {{ trait.first_name | default: "there" }},</p>
  <p>Teams like {{ account.name | default: "yours" }} start with <a href="https://acme.example/pricing">our pricing</a>
  or <a href="https://acme.example/guide">the guide</a>.</p>
text: |
  Hi {{ trait.first_name | default: "there" }}, see https://acme.example/pricing
`;
const FOLLOW_UP = `
id: tpl-follow-up
subject: "Still thinking it over, {{ trait.first_name | default: 'there' }}?"
html: <p>Here is <a href="https://acme.example/case-study">a case study</a>.</p>
text: "Here is a case study: https://acme.example/case-study"
`;
const DRIP = "drip";
const steps = `
steps:
  - { id: email-1, send: tpl-welcome }
  - { id: pause, wait: 2d }
  - { id: email-2, send: tpl-follow-up }
`;
const SEQUENCES = [
  `id: ${DRIP}\nentry: { stage: lead }${steps}`,
  // Part 5: leads enter this one by a segment, when their nurture check runs.
  `id: vp-welcome\nentry: { when: { trait: title, contains: VP } }${steps}`,
];

// ---------------------------------------------------------------------------------------------
// The SMTP sink: smtp-server in a child process. It counts the messages it accepted.

function sinkChild(): void {
  let accepted = 0;
  let reported = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, _session, callback) {
      stream.on("data", () => undefined);
      stream.on("end", () => {
        accepted++;
        callback();
      });
    },
  });
  server.on("error", () => undefined);
  server.listen(0, "127.0.0.1", () => {
    const address = server.server.address();
    process.send?.({ port: typeof address === "object" && address ? address.port : 0 });
  });
  setInterval(() => {
    if (accepted === reported) return;
    reported = accepted;
    process.send?.({ accepted });
  }, 50);
  process.on("disconnect", () => process.exit(0));
}

interface Sink {
  url: string;
  /** Messages accepted, as last reported (every 50 ms). */
  accepted(): number;
  close(): Promise<void>;
}

async function startSink(): Promise<Sink> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ["--smtp-sink"], { stdio: "inherit" });
  let accepted = 0;
  const port = await new Promise<number>((resolve, reject) => {
    child.on("message", (m: { port?: number; accepted?: number }) => {
      if (m.port !== undefined) resolve(m.port);
      if (m.accepted !== undefined) accepted = m.accepted;
    });
    child.once("error", reject);
  });
  return {
    url: `smtp://127.0.0.1:${port}`,
    accepted: () => accepted,
    close: async () => {
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.disconnect();
      await Promise.race([exited, sleep(5_000)]);
      child.kill();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The service's parts as `qualify start` builds them.

/** The configuration's defaults (poll intervals, email concurrency, pool size, timeouts). */
const config = (): Config => loadConfig({});

/**
 * A scheduler as createScheduler builds it (the handoff handlers and the nurture ones), with the
 * nurture handlers wrapped to record when each job started: `started` maps a job id to its lag
 * (handler start − due time), first run only.
 */
function scheduler(
  db: Database,
  c: Config,
  started: Map<number, number> | null,
  kinds = "all",
  emailQueued?: () => void,
): Scheduler {
  const s = new Scheduler(db, {
    clock: Date.now,
    pollMs: c.schedulerPollMs,
    batchSize: c.schedulerBatch,
    onError: (e) => note(`scheduler failed: ${String(e)}`),
    onFailure: (job, e) => note(`job ${job.kind} ${job.key} failed: ${String(e)}`),
  });
  registerHandoffJobs(s);
  if (kinds !== "step")
    s.register<{ leadId: string }>(LEAD_JOB, async (tx, job, now) => {
      if (started && !started.has(job.id)) started.set(job.id, Date.now() - job.runAt);
      await checkLead(tx, job.workspaceId, job.payload.leadId, now);
    });
  let queued = 0;
  const mark = (job: Job) => {
    if (started && !started.has(job.id)) started.set(job.id, Date.now() - job.runAt);
  };
  if (kinds !== "lead")
    s.register<{ enrollmentId: string }>(
      STEP_JOB,
      async (tx, job, now) => {
        mark(job);
        queued += await runStep(tx, job.workspaceId, job.payload.enrollmentId, now);
      },
      {
        // As registerNurtureJobs does: a claim's step jobs in one batch (the bench has one workspace).
        batch: async (tx, jobs, now) => {
          for (const job of jobs) mark(job);
          queued += await runSteps(
            tx,
            WS,
            jobs.map((j) => j.payload.enrollmentId),
            now,
          );
        },
        committed: () => {
          if (queued > 0) emailQueued?.();
          queued = 0;
        },
      },
    );
  return s;
}

/** Several schedulers (runners), their stats summed. */
function runners(
  db: Database,
  c: Config,
  started: Map<number, number> | null,
  kinds = "all",
  emailQueued?: () => void,
) {
  const list = Array.from({ length: RUNNERS }, () => scheduler(db, c, started, kinds, emailQueued));
  const sum = (k: "done" | "retried" | "lost" | "failed") => list.reduce((a, r) => a + r.stats[k], 0);
  return {
    start: () => {
      for (const r of list) r.start();
    },
    stop: () => Promise.all(list.map((r) => r.stop())),
    done: () => sum("done"),
    summary: () => `scheduler retried ${sum("retried")}, failed ${sum("failed")}, lost ${sum("lost")}`,
  };
}

type Transport = Pick<Transporter, "sendMail" | "close">;

/** The email sender as createEmailSender builds it, with a transport of the bench's own. */
function emailSender(db: Database, c: Config, transport: Transport): EmailSender {
  return new EmailSender(db, {
    clock: Date.now,
    pollMs: c.emailPollMs,
    timeoutMs: c.webhookTimeoutMs,
    smtpUrl: undefined,
    defaultFrom: c.smtpFrom,
    publicUrl: () => `http://localhost:${c.port}`,
    concurrency: c.emailConcurrency,
    transport,
    append: (events) => appendEvents(db, events),
    onError: (e) => note(`email sender failed: ${String(e)}`),
  });
}

/** The pooled SMTP transport the sender makes for itself from SMTP_URL (the same options). */
const smtpTransport = (c: Config, url: string): Transporter =>
  nodemailer.createTransport({
    url,
    pool: true,
    maxConnections: c.emailConcurrency,
    connectionTimeout: c.webhookTimeoutMs,
    greetingTimeout: c.webhookTimeoutMs,
    socketTimeout: c.webhookTimeoutMs,
  });

/** A transport that answers at once: everything but the SMTP exchange. */
const stubTransport = (): Transport => ({
  sendMail: (async () => ({ response: "250 2.0.0 OK (stub)" })) as unknown as Transport["sendMail"],
  close: () => undefined,
});

/** Wraps a transport to record when each message (by Message-ID) was accepted. */
function clocked(inner: Transport, at: Map<string, number>): Transport {
  return {
    sendMail: (async (mail: { messageId: string }) => {
      const info = await (inner.sendMail as (m: unknown) => Promise<unknown>)(mail);
      at.set(mail.messageId, Date.now());
      return info;
    }) as unknown as Transport["sendMail"],
    close: () => inner.close(),
  };
}

// ---------------------------------------------------------------------------------------------
// Where the time goes: CPU of this process and of the database's server processes (PostgreSQL on
// this machine, from /proc), and with BENCH_SQL_TIMES the wall time of each statement.

/** User + system CPU of a process, in microseconds (Linux); 0 when it cannot be read. */
function processCpu(pid: number): number {
  try {
    const fields = (readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1] ?? "").split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return 0;
  }
}

/**
 * CPU of this process, and of the server processes of the database's connections (PostgreSQL on
 * this machine: found by their process title in /proc, sampled every 500 ms so that connections
 * opened and closed meanwhile count; autovacuum is left out).
 */
class CpuMeter {
  private readonly node = process.cpuUsage();
  private readonly seen = new Map<number, number>();
  private pg = 0;
  private readable = false;
  private readonly timer: NodeJS.Timeout | null;

  constructor(private readonly dbName: string | null) {
    this.sample(true);
    this.timer = dbName ? setInterval(() => this.sample(false), 500) : null;
  }

  private sample(baseline: boolean): void {
    if (!this.dbName) return;
    const title = `: postgres ${this.dbName} `;
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      let cmdline: string;
      try {
        cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      } catch {
        continue;
      }
      if (!cmdline.includes(title)) continue;
      const pid = Number(entry);
      const cpu = processCpu(pid);
      if (cpu > 0) this.readable = true;
      const before = this.seen.get(pid) ?? (baseline ? cpu : 0);
      this.pg += cpu - before;
      this.seen.set(pid, cpu);
    }
  }

  /** CPU so far in µs: this process, and PostgreSQL's (null: PGlite, or not on this machine). */
  stop(): { node: number; pg: number | null } {
    this.sample(false);
    if (this.timer) clearInterval(this.timer);
    const used = process.cpuUsage(this.node);
    return { node: used.user + used.system, pg: this.readable ? this.pg : null };
  }
}

/** The PostgreSQL database being measured (its server processes carry the name), or null. */
let pgName: string | null = null;

const timing = new Map<string, { n: number; ms: number }>();

function timedRun<T>(key: string, run: () => Promise<T>): Promise<T> {
  const t = performance.now();
  return run().finally(() => {
    const e = timing.get(key) ?? { n: 0, ms: 0 };
    e.n++;
    e.ms += performance.now() - t;
    timing.set(key, e);
  });
}

/** With BENCH_SQL_TIMES, the database times each statement and each transaction. */
function timedDb(db: Database): Database {
  if (!SQL_TIMES) return db;
  const wrap = (q: Queryable): Queryable => ({
    query: (sql, params) => timedRun(sql.replace(/\s+/g, " ").slice(0, 100), () => q.query(sql, params)),
    exec: (sql) => q.exec(sql),
  });
  return {
    ...db,
    ...wrap(db),
    transaction: (fn) =>
      timedRun("(a transaction, begin … commit)", () => db.transaction((tx) => fn(wrap(tx)))),
  };
}

function printTimes(jobs: number, what = "step job"): void {
  if (!SQL_TIMES) return;
  out(`    wall time per ${what}, by statement (BENCH_SQL_TIMES):`);
  for (const [k, v] of [...timing].sort((a, b) => b[1].ms - a[1].ms).slice(0, 24))
    out(
      `      ${(v.ms / jobs).toFixed(3).padStart(7)} ms  ${fmt(v.n).padStart(8)} × ${(v.ms / v.n).toFixed(3)} ms  ${k}`,
    );
  timing.clear();
}

// ---------------------------------------------------------------------------------------------
// Setup with SQL: leads, their nurture standing, enrollments and their step jobs.

async function setup(db: Database, leads: number): Promise<void> {
  const now = Date.now();
  await db.query(
    `insert into leads (workspace_id, id, user_id, email, email_domain, name, traits, stage, first_seen_at,
       last_event_at, event_count)
     select $1, 'lead-' || i, 'user-' || i, 'user-' || i || '@bigco.example', 'bigco.example', 'Lead ' || i,
       jsonb_build_object('email', 'user-' || i || '@bigco.example', 'first_name', 'Lead' || i,
         'title', 'VP Marketing', 'email_consent', true),
       'lead', $2, $2, 2
     from generate_series(1, $3::integer) i`,
    [WS, now, leads],
  );
  await db.query(
    `insert into nurture_leads (workspace_id, lead_id, consent, consent_source, consent_at, updated_at)
     select $1, 'lead-' || i, true, 'trait', $2, $2 from generate_series(1, $3::integer) i`,
    [WS, now, leads],
  );
  await saveSettings(db, WS, {
    postalAddress: "Acme Inc., 5 Main Street, Springfield",
    quietHours: null,
    frequencyCap: null,
    defaultConsent: "opt-in",
  });
  for (const source of [WELCOME, FOLLOW_UP]) await saveTemplate(db, WS, source, { by: "bench", now });
  for (const source of SEQUENCES) await saveSequence(db, WS, source, { activate: true, by: "bench", now });
  await db.query("analyze");
}

/** Empties what a part leaves behind. */
async function reset(db: Database): Promise<void> {
  await db.query("truncate enrollments, email_attempts, jobs");
  await db.query("analyze enrollments, email_attempts, jobs");
}

/**
 * Enrolls leads 1..count in `drip`: the k-th (from 0) due at `first + k × spacingMs`, at email-1
 * when k is even, at the pause (over by then) when k is odd. Then their step jobs, due
 * `shiftMs` later than that (lag runs write the jobs last: they start the clock). Returns each
 * email's due time by the Message-ID's `<enrollment>.<step>` part, when `dueTimes` is asked for.
 */
async function enroll(
  db: Database,
  o: { count: number; first: number; spacingMs: number; dueTimes?: boolean; shift?: () => number },
): Promise<{ due: Map<string, number>; shift: number }> {
  const now = Date.now();
  await db.query(
    `insert into enrollments (workspace_id, id, lead_id, sequence_id, sequence_version, status, step_index, step_id,
       step_started_at, next_run_at, history, entered_at, entry_reason, updated_at)
     select $1, gen_random_uuid()::text, 'lead-' || (k + 1), $2, 1, 'active', s,
       case s when 0 then 'email-1' else 'pause' end,
       case s when 0 then $3::bigint else $3::bigint - $4::bigint end,
       $5::bigint + floor(k * $6::float8)::bigint,
       case s when 0 then '[]'::jsonb
         else jsonb_build_array(jsonb_build_object('step', 'email-1', 'kind', 'send',
           'at', $3::bigint - $4::bigint, 'outcome', 'queued tpl-welcome v1')) end,
       $3, 'entered lead', $3
     from (select k, k % 2 as s from generate_series(0, $7::integer - 1) k) g`,
    [WS, DRIP, now, PAUSE_MS + 60_000, o.first, o.spacingMs, o.count],
  );
  await db.query("analyze enrollments");
  const due = new Map<string, number>();
  const shift = o.shift?.() ?? 0;
  if (o.dueTimes)
    for (const r of await db.query<{ id: string; step_index: number; next_run_at: number }>(
      "select id, step_index, next_run_at from enrollments",
    ))
      due.set(`${r.id}.${r.step_index === 0 ? "email-1" : "email-2"}`, Number(r.next_run_at) + shift);
  // next_run_at, which nothing reads, keeps the unshifted time.
  await db.query(
    `insert into jobs (workspace_id, kind, key, run_at, payload)
     select workspace_id, $1, 'step:' || id, next_run_at + $2::bigint, jsonb_build_object('enrollmentId', id)
     from enrollments order by next_run_at`,
    [STEP_JOB, shift],
  );
  await db.query("analyze jobs");
  return { due, shift };
}

async function waitUntil(done: () => boolean, deadline: number, progress: () => string): Promise<boolean> {
  let lastNote = Date.now();
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await sleep(20);
    if (Date.now() - lastNote >= 15_000) {
      lastNote = Date.now();
      note(progress());
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// 0. Limits.

/**
 * The scheduler alone: jobs with a no-op batch handler (as step jobs run), all due, claimed, locked
 * and completed, a claim's jobs in one transaction.
 */
async function noopLimit(db: Database, c: Config): Promise<number> {
  await reset(db);
  const n = 100_000;
  await db.query(
    `insert into jobs (workspace_id, kind, key, run_at, payload)
     select $1, 'bench.noop', 'noop:' || k, $2::bigint - $3::integer + k, 'null'::jsonb
     from generate_series(0, $3::integer - 1) k`,
    [WS, Date.now(), n],
  );
  await db.query("analyze jobs");
  const list = Array.from({ length: RUNNERS }, () => {
    const s = new Scheduler(db, { clock: Date.now, pollMs: c.schedulerPollMs, batchSize: c.schedulerBatch });
    s.register("bench.noop", async () => undefined, { batch: async () => undefined });
    return s;
  });
  const t0 = Date.now();
  const count = () => list.reduce((a, s) => a + s.stats.done, 0);
  for (const s of list) s.start();
  await waitUntil(
    () => count() >= n,
    t0 + LIMIT_SECONDS * 1000,
    () => `0a. no-op jobs ${fmt(count())}/${fmt(n)}`,
  );
  const elapsed = Date.now() - t0;
  await Promise.all(list.map((s) => s.stop()));
  const done = count();
  out(
    `0a. scheduler, no-op handler:        ${fmt(done)} jobs in ${secs(elapsed)}: ${perSecond(done, elapsed)} (claim; lock and complete ${c.schedulerBatch} at a time in one transaction)`,
  );
  return rate(done, elapsed);
}

/** The sink's accept rate for the same messages, with nodemailer directly, as the sender sends. */
async function smtpLimit(c: Config, sink: Sink): Promise<number> {
  const transport = smtpTransport(c, sink.url);
  const rendered = renderTemplate(
    loadTemplate(WELCOME),
    templateVarsFor(
      { email: "user-1@bigco.example", name: "Lead 1", traits: { first_name: "Lead1" }, account: {} },
      { unsubscribeUrl: "https://unsubscribe.qualify.invalid/", postalAddress: "Acme Inc., 5 Main Street" },
    ),
  );
  let sent = 0;
  const t0 = Date.now();
  const end = t0 + LIMIT_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: c.emailConcurrency }, async () => {
      while (Date.now() < end) {
        const i = sent++;
        await transport.sendMail(
          composeEmail(rendered, {
            from: c.smtpFrom,
            to: `user-${i}@bigco.example`,
            messageId: `<raw-${i}@bench>`,
            postalAddress: "Acme Inc., 5 Main Street, Springfield",
            urls: trackingUrls("http://localhost:3000", "k".repeat(43), `attempt-${i}`),
          }),
        );
      }
    }),
  );
  const elapsed = Date.now() - t0;
  transport.close();
  out(
    `0b. SMTP sink, nodemailer directly:  ${fmt(sent)} messages in ${secs(elapsed)}: ${perSecond(sent, elapsed)} (pooled, ${c.emailConcurrency} at a time)`,
  );
  return rate(sent, elapsed);
}

// ---------------------------------------------------------------------------------------------
// 1 and 2. Throughput on a backlog.

interface Throughput {
  jobsPerS: number;
  emailsPerS: number;
  cpuUs: number;
}

async function throughput(
  db: Database,
  c: Config,
  leads: number,
  label: string,
  transport: Transport,
): Promise<Throughput> {
  await reset(db);
  // A backlog: due over the last `leads` ms, one due time each, as enrollments get them.
  await enroll(db, { count: leads, first: Date.now() - leads, spacingMs: 1 });
  const sender = emailSender(db, c, transport);
  const s = runners(db, c, null, "step", () => sender.wake());
  timing.clear();
  const meter = new CpuMeter(pgName);
  const t0 = Date.now();
  s.start();
  sender.start();
  const finished = await waitUntil(
    () => s.done() >= leads && sender.stats.sent >= leads,
    t0 + THROUGHPUT_SECONDS * 1000,
    () => `${label}: step jobs ${fmt(s.done())}/${fmt(leads)}, emails ${fmt(sender.stats.sent)}`,
  );
  const cpu = meter.stop();
  await s.stop();
  await sender.stop();
  const elapsed = Date.now() - t0;
  const jobs = s.done();
  const sent = sender.stats.sent;
  const rows = await db.query<{ status: string; n: number; steps: number }>(
    `select status, count(*)::int as n, sum(jsonb_array_length(history))::int as steps from enrollments
     group by status order by status`,
  );
  const attempts = await db.query<{ status: string; n: number }>(
    "select status, count(*)::int as n from email_attempts group by status order by status",
  );
  // Each enrollment at the pause started with one step in its history (email-1).
  const steps = rows.reduce((a, r) => a + r.steps, 0) - Math.floor(leads / 2);
  out(
    `${label}: ${finished ? "all done" : `for ${secs(elapsed)}`}: ${fmt(jobs)} of ${fmt(leads)} step jobs, ${fmt(steps)} sequence steps, ${fmt(sent)} emails sent in ${secs(elapsed)}`,
  );
  out(
    `    step jobs ${perSecond(jobs, elapsed)}, sequence steps ${perSecond(steps, elapsed)}, emails ${perSecond(sent, elapsed)}${finished ? "" : `; all ${fmt(leads)} would take ${fmt(leads / rate(jobs, elapsed))} s at this rate`}`,
  );
  const cpuUs = (cpu.node + (cpu.pg ?? 0)) / jobs;
  out(
    `    CPU per step job (its email included): this process ${fmt(cpu.node / jobs)} µs${cpu.pg === null ? "" : `, PostgreSQL ${fmt(cpu.pg / jobs)} µs`}: ${fmt((cpu.node + (cpu.pg ?? 0)) / 10_000 / (elapsed / 1000))} % of a core; ${db.kind === "pglite" ? `PGlite runs on this thread: ${fmt(1e6 / cpuUs)} jobs/s would fill it` : `${fmt(2e6 / cpuUs)} jobs/s would fill both cores`}`,
  );
  out(
    `    enrollments: ${rows.map((r) => `${r.status} ${fmt(r.n)}`).join(", ")}; attempts: ${attempts.map((a) => `${a.status} ${fmt(a.n)}`).join(", ")}; ${s.summary()}; sender errors ${sender.stats.errors}`,
  );
  printTimes(jobs);
  return { jobsPerS: rate(jobs, elapsed), emailsPerS: rate(sent, elapsed), cpuUs };
}

// ---------------------------------------------------------------------------------------------
// 3 and 4. Lag at an offered rate.

interface Lag {
  p50: number;
  p99: number;
  max: number;
  /** The p99 (p50, max) counts jobs that had not run by the end: a lower bound. */
  p99AtLeast: boolean;
  p50AtLeast: boolean;
  maxAtLeast: boolean;
}

/** Quantiles of measured lags plus lower bounds (jobs still waiting at the end). */
function lagStats(measured: number[], waiting: number[]): Lag {
  const all = [...measured.map((v) => ({ v, open: false })), ...waiting.map((v) => ({ v, open: true }))].sort(
    (a, b) => a.v - b.v,
  );
  const at = (q: number) => all[Math.min(all.length - 1, Math.ceil(q * all.length) - 1)];
  // A waiting job's lag is at least its value: once any is at or below the quantile, the true
  // quantile may be higher.
  const firstOpen = all.findIndex((x) => x.open);
  const bound = (q: number) => firstOpen >= 0 && firstOpen <= Math.ceil(q * all.length) - 1;
  return {
    p50: at(0.5)?.v ?? Number.NaN,
    p99: at(0.99)?.v ?? Number.NaN,
    max: all.at(-1)?.v ?? Number.NaN,
    p50AtLeast: bound(0.5),
    p99AtLeast: bound(0.99),
    maxAtLeast: firstOpen >= 0,
  };
}

const lagText = (x: Lag) =>
  `p50 ${x.p50AtLeast ? "≥ " : ""}${fmt(x.p50)} ms, p99 ${x.p99AtLeast ? "≥ " : ""}${fmt(x.p99)} ms, max ${x.maxAtLeast ? "≥ " : ""}${fmt(x.max)} ms`;

async function lag(db: Database, c: Config, sink: Sink, label: string, offered: number, seconds: number) {
  await reset(db);
  const count = Math.max(2, Math.round(offered * seconds));
  let first = 0;
  const { due } = await enroll(db, {
    count,
    first: 0,
    spacingMs: 1000 / offered,
    dueTimes: true,
    shift: () => {
      first = Date.now() + LEAD_IN_MS;
      return first;
    },
  });
  const setupLate = Date.now() - first;
  const started = new Map<number, number>();
  const sentAt = new Map<string, number>();
  const sender = emailSender(db, c, clocked(smtpTransport(c, sink.url), sentAt));
  const s = runners(db, c, started, "step", () => sender.wake());
  const meter = new CpuMeter(pgName);
  s.start();
  sender.start();
  const window = count / offered;
  const ok = await waitUntil(
    () => started.size >= count && sentAt.size >= count,
    first + (window + DRAIN_SECONDS) * 1000,
    () => `${label}: step jobs ${fmt(started.size)}/${fmt(count)}, emails ${fmt(sentAt.size)}/${fmt(count)}`,
  );
  const end = Date.now();
  const cpu = meter.stop();
  await s.stop();
  await sender.stop();
  // Jobs that never ran, and emails never sent, by the end: their lag so far.
  const waitingJobs = (
    await db.query<{ run_at: number }>(
      "select run_at from jobs where state in ('scheduled', 'running') and run_at <= $1",
      [end],
    )
  ).map((r) => end - Number(r.run_at));
  const created = new Map(
    (
      await db.query<{ message_id: string; created_at: number }>(
        "select message_id, created_at from email_attempts",
      )
    ).map((r) => [r.message_id, Number(r.created_at)]),
  );
  const toSent: number[] = [];
  const attemptToSent: number[] = [];
  const sentKeys = new Set<string>();
  for (const [messageId, at] of sentAt) {
    const key = messageId.slice(1, messageId.indexOf("@"));
    sentKeys.add(key);
    const d = due.get(key);
    if (d !== undefined) toSent.push(at - d);
    const cr = created.get(messageId);
    if (cr !== undefined) attemptToSent.push(at - cr);
  }
  const unsent = [...due].filter(([k, d]) => !sentKeys.has(k) && d <= end).map(([, d]) => end - d);
  // Jobs rescheduled for the end of the pause (2 days on) are not waiting: only those due by the end.
  const jobLag = lagStats([...started.values()], waitingJobs);
  const emailLag = lagStats(toSent, unsent);
  const attemptLag = lagStats(attemptToSent, []);
  const ran = started.size;
  const pass = ok && !jobLag.p99AtLeast && jobLag.p99 < TARGET_P99_MS;
  out(
    `${label}: ${fmt(offered)} step jobs/s offered for ${secs(window * 1000)} (${fmt(count)} jobs, one email each; SMTP sink)${setupLate > 0 ? `; setup ran ${fmt(setupLate)} ms past the first due time` : ""}`,
  );
  out(
    `    ran ${fmt(ran)} step jobs, ${fmt(sentAt.size)} emails accepted; ${ok ? `all done ${secs(end - first - window * 1000)} after the last fell due` : `${fmt(count - ran)} jobs still waiting ${secs(DRAIN_SECONDS * 1000)} after the last fell due`}; ${perSecond(ran, end - first)} on average from the first due time`,
  );
  out(
    `    due → step job runs:           ${lagText(jobLag)}   target p99 < ${fmt(TARGET_P99_MS)} ms: ${verdict(pass)}`,
  );
  out(`    due → SMTP sink accepted:      ${lagText(emailLag)}`);
  out(`    attempt committed → accepted:  ${lagText(attemptLag)}`);
  out(
    `    CPU: this process ${fmt(cpu.node / 10_000 / ((end - first) / 1000))} % of a core${cpu.pg === null ? "" : `, PostgreSQL ${fmt(cpu.pg / 10_000 / ((end - first) / 1000))} %`}; ${s.summary()}`,
  );
  return { pass, p99: jobLag.p99 };
}

// ---------------------------------------------------------------------------------------------
// 5. Entry.

async function entry(db: Database, c: Config, leads: number): Promise<void> {
  await reset(db);
  await db.query(
    `insert into jobs (workspace_id, kind, key, run_at, payload)
     select $1, $2, 'lead:lead-' || i, $3::bigint, jsonb_build_object('leadId', 'lead-' || i)
     from generate_series(1, $4::integer) i`,
    [WS, LEAD_JOB, Date.now(), leads],
  );
  await db.query("analyze jobs");
  const s = runners(db, c, null, "lead");
  timing.clear();
  const meter = new CpuMeter(pgName);
  const t0 = Date.now();
  s.start();
  await waitUntil(
    () => s.done() >= leads,
    t0 + ENTRY_SECONDS * 1000,
    () => `entry: lead checks ${fmt(s.done())}`,
  );
  const cpu = meter.stop();
  await s.stop();
  const elapsed = Date.now() - t0;
  const done = s.done();
  const enrolled = await db.query<{ n: number }>(
    "select count(*)::int as n from enrollments where sequence_id = 'vp-welcome'",
  );
  out(
    `5. entry: ${fmt(done)} nurture.lead checks in ${secs(elapsed)}: ${perSecond(done, elapsed)}, ${fmt(enrolled[0]?.n ?? 0)} leads enrolled (by a segment); CPU per check: this process ${fmt(cpu.node / done)} µs${cpu.pg === null ? "" : `, PostgreSQL ${fmt(cpu.pg / done)} µs`}`,
  );
  printTimes(done, "lead check");
}

// ---------------------------------------------------------------------------------------------

async function run(kind: "pglite" | "postgres", base: string | undefined, sink: Sink): Promise<void> {
  const leads = kind === "pglite" ? PGLITE_LEADS : LEADS;
  const c = config();
  const lagLeads = PARTS.has("lag") ? Math.round(RATE * SECONDS) : 0;
  const needed = Math.max(leads, lagLeads);
  out(
    `\n## ${kind === "pglite" ? "PGlite (a data directory)" : "PostgreSQL"}: ${fmt(leads)} leads enrolled in a 3-step sequence; ${RUNNERS} scheduler${RUNNERS > 1 ? "s" : ""} (poll ${fmt(c.schedulerPollMs)} ms, ${c.schedulerBatch} jobs a claim), an email sender (poll ${fmt(c.emailPollMs)} ms, ${c.emailConcurrency} at a time)${kind === "postgres" ? `, pool ${c.dbPoolSize}` : ""}`,
  );
  const dataDir = kind === "pglite" ? mkdtempSync(join(tmpdir(), "qualify-nurture-bench-")) : null;
  const pgdb = kind === "postgres" ? await freshDatabase(base as string) : null;
  pgName = pgdb ? new URL(pgdb.url).pathname.slice(1) : null;
  let db: Database | null = null;
  const load0 = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  try {
    if (pgdb) {
      const migrator = openPostgres(pgdb.url, { poolSize: 1, statementTimeoutMs: 0 });
      await migrate(migrator);
      await migrator.close();
      db = timedDb(openPostgres(pgdb.url, { poolSize: c.dbPoolSize, statementTimeoutMs: 0 }));
    } else {
      const pglite = await openPglite({ dataDir: dataDir as string });
      await migrate(pglite);
      db = timedDb(pglite);
    }
    const t = Date.now();
    await setup(db, needed);
    out(
      `setup: ${fmt(needed)} leads in ${secs(Date.now() - t)}; load average before: ${load0}. Sequence: email-1, pause 2d, email-2; half the enrollments at email-1, half past the pause: every step job sends one email, 1.5 sequence steps on average`,
    );
    let noop = Number.NaN;
    let raw = Number.NaN;
    if (PARTS.has("limits")) {
      noop = await noopLimit(db, c);
      raw = await smtpLimit(c, sink);
    }
    let stub: Throughput | null = null;
    if (PARTS.has("stub")) {
      stub = await throughput(db, c, leads, "1. throughput, transport stubbed", stubTransport());
      if (!Number.isNaN(noop))
        out(`    = ${fmt((stub.jobsPerS / noop) * 100)} % of the no-op scheduler's rate`);
    }
    if (PARTS.has("smtp")) {
      const smtp = await throughput(db, c, leads, "2. throughput, SMTP sink", smtpTransport(c, sink.url));
      out(
        `    = ${stub ? `${fmt((smtp.jobsPerS / stub.jobsPerS) * 100)} % of the stubbed rate; ` : ""}emails ${Number.isNaN(raw) ? "" : `${fmt((smtp.emailsPerS / raw) * 100)} % of the sink's raw accept rate`}`,
      );
    }
    if (PARTS.has("lag")) await lag(db, c, sink, "3. lag at the target rate", RATE, SECONDS);
    if (PARTS.has("floor")) {
      const sustained = Math.max(1, Math.floor((stub?.jobsPerS ?? noop / 4) / 2));
      await lag(db, c, sink, "4. lag at half the stubbed throughput", sustained, Math.min(SECONDS, 30));
    }
    if (PARTS.has("entry")) await entry(db, c, leads);
    out(`load average after: ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
  } finally {
    await db?.close();
    await pgdb?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  out("# Nurture benchmark");
  out(
    `target: due → step job p99 < ${fmt(TARGET_P99_MS)} ms at ${fmt(TARGET_RATE)} steps/s (offered in part 3: ${fmt(RATE)} step jobs/s for ${SECONDS} s)`,
  );
  const sink = await startSink();
  try {
    if (ONLY.has("pglite")) await run("pglite", undefined, sink);
    const base = process.env.DATABASE_URL;
    if (ONLY.has("postgres")) {
      if (base) await run("postgres", base, sink);
      else out("\nPostgreSQL: set DATABASE_URL (a PostgreSQL it may create a database on); skipped");
    }
  } finally {
    await sink.close();
  }
}

if (process.argv[2] === "--smtp-sink") sinkChild();
else await main();
