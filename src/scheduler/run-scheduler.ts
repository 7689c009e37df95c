import { isContention } from "../db/contention.js";
import type { Database, Queryable } from "../db/database.js";
import { Mutex } from "../pipeline/mutex.js";
import { type Backoff, DEFAULT_BACKOFF, retryDelay } from "./backoff.js";
import { claimJobs, releaseJobs } from "./claim-jobs.js";
import { completeJob, completeJobs, failJob, lockClaimed, lockClaimedMany } from "./finish-job.js";
import type { ClaimedJob, Job } from "./jobs-table.js";
import { PollTimer } from "./poll-timer.js";
import { pruneJobs } from "./prune-jobs.js";

/**
 * The durable scheduler's runner. Jobs are rows of `jobs`, created with `scheduleJob` inside the
 * transaction of the fact that causes them; any number of processes run them, each polling for due
 * jobs of the kinds it has handlers for.
 *
 * Guarantees:
 * - A job runs once it is due by the runner's clock (never before), within a poll interval.
 * - Never twice at once: a claim (`for update skip locked`, committed) gives the job a lease token,
 *   and the handler's transaction locks the row while the claim still holds, keeping it locked
 *   until it commits; another runner skips a locked row even when the lease has run out.
 * - At least once: a handler's writes and the job's `done` commit together. A runner that dies
 *   mid-job loses its transaction, and the job runs again when its lease ends, as one more
 *   attempt. So a handler must be idempotent in what it does outside its transaction (an HTTP
 *   call, an email): it may have done that already. A handler's own database writes happen once.
 * - A failure (the handler throws) rolls back its writes and is retried with exponential backoff
 *   and jitter, up to the job's `maxAttempts`; then the job is `failed`, with `last_error`.
 *
 * Handlers run in a transaction, one at a time per runner, and use only its `tx`. On PGlite that
 * transaction holds the one connection (a query on the database itself would wait for it forever),
 * so a handler must stay short: slow network calls belong outside it.
 */

/** Runs one job, inside the transaction that marks it done. `now` is the runner's clock. */
export type JobHandler<P = unknown> = (tx: Queryable, job: Job<P>, now: number) => Promise<void>;

/**
 * Runs many due jobs of one kind in one transaction, with the jobs marked done in it: a kind whose
 * jobs share reads (the same settings, sequences, templates) and whose writes go in one statement
 * each. If it throws, every job of the batch is run alone by the kind's handler, so that one bad
 * job fails (and retries) alone.
 */
export type BatchHandler<P = unknown> = (tx: Queryable, jobs: Job<P>[], now: number) => Promise<void>;

export interface HandlerOptions<P = unknown> {
  backoff?: Backoff;
  batch?: BatchHandler<P>;
  /** Called after a run (or a batch) of the kind committed: to wake what its writes feed. */
  committed?: () => void;
}

export interface SchedulerOptions {
  /** Epoch milliseconds: the service clock. Due times and leases are read against it only. */
  clock: () => number;
  /** How often the loop looks for due jobs (QUALIFY_SCHEDULER_POLL_MS). */
  pollMs?: number;
  /** How long a claim holds before another runner may take the job back. */
  leaseMs?: number;
  /** Jobs claimed at once (QUALIFY_SCHEDULER_BATCH); a kind with a batch handler runs them together. */
  batchSize?: number;
  /** [0, 1), for the jitter of retries; tests pass a deterministic one. */
  random?: () => number;
  /** How long finished jobs are kept; the loop prunes older ones hourly. */
  retainMs?: number;
  /** The loop failed (the database is unreachable, say); it backs off and tries again. */
  onError?: (e: unknown) => void;
  /** A handler threw; the job is retried later, or has failed for good. */
  onFailure?: (job: Job, error: unknown, outcome: "retry" | "failed") => void;
}

export interface SchedulerStats {
  /** Jobs whose handler committed. */
  done: number;
  /** Handler failures that will be retried. */
  retried: number;
  /** Jobs that failed for good. */
  failed: number;
  /** Claims found gone when their job's turn came (rescheduled, cancelled or taken back). */
  lost: number;
  /** Loop failures. */
  errors: number;
  /** Batches whose batch handler threw: their jobs were then run alone. */
  split: number;
}

/** A handler's transaction that lost a lock race (deadlock, say) is run again this many times. */
const CONTENTION_RETRIES = 5;
const PRUNE_EVERY_MS = 3_600_000;

export class Scheduler {
  private readonly handlers = new Map<
    string,
    { run: JobHandler; backoff: Backoff; batch?: BatchHandler; committed?: () => void }
  >();
  private running = false;
  private stopping = false;
  private loop: Promise<void> | null = null;
  private readonly timer = new PollTimer();
  private readonly passes = new Mutex();
  private lastPrune: number | null = null;
  readonly stats: SchedulerStats = { done: 0, retried: 0, failed: 0, lost: 0, errors: 0, split: 0 };

  constructor(
    private readonly db: Database,
    private readonly options: SchedulerOptions,
  ) {}

  /** Runs jobs of `kind` from now on; a runner claims only the kinds it has handlers for. */
  register<P>(kind: string, handler: JobHandler<P>, opts: HandlerOptions<P> = {}): void {
    if (this.handlers.has(kind)) throw new Error(`a job handler for '${kind}' is registered already`);
    this.handlers.set(kind, {
      run: handler as JobHandler,
      backoff: opts.backoff ?? DEFAULT_BACKOFF,
      ...(opts.batch ? { batch: opts.batch as BatchHandler } : {}),
      ...(opts.committed ? { committed: opts.committed } : {}),
    });
    this.wake();
  }

  /**
   * Runs every job due at `at` (tests pass a controlled time), including jobs that handlers make
   * due meanwhile, then returns how many handlers it ran. Without `at`, each batch is claimed at
   * the clock's time then, so that leases stay current through a long backlog.
   */
  runDue(at?: number): Promise<number> {
    // One pass at a time in this process: a test's pass waits for the loop's, so that when it
    // returns, every job due at `at` has committed (none is still running in the loop).
    return this.passes.run(() => this.runDuePass(at));
  }

  private async runDuePass(at?: number): Promise<number> {
    let ran = 0;
    while (!this.stopping) {
      const now = at ?? this.options.clock();
      const claimed = await claimJobs(this.db, {
        now,
        kinds: [...this.handlers.keys()],
        limit: this.options.batchSize ?? 20,
        leaseMs: this.options.leaseMs ?? 30_000,
      });
      if (claimed.length === 0) return ran;
      const groups = groupBatches(claimed, (kind) => this.handlers.get(kind)?.batch !== undefined);
      for (const [i, group] of groups.entries()) {
        if (this.stopping) {
          await releaseJobs(this.db, groups.slice(i).flat());
          return ran;
        }
        ran +=
          group.length > 1
            ? await this.runBatch(group, now)
            : Number(await this.runJob(group[0] as ClaimedJob, now));
      }
    }
    return ran;
  }

  /** Polls every `pollMs` (and when woken) until stopped. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Finishes the job in hand, gives back the rest of its batch, and stops polling. */
  async stop(): Promise<void> {
    if (!this.loop) return;
    this.running = false;
    this.stopping = true;
    this.wake();
    await this.loop;
    this.loop = null;
    this.stopping = false;
  }

  /** Looks for due jobs now rather than at the next poll (after scheduling one due at once). */
  wake(): void {
    this.timer.wake();
  }

  /** False when the claim was gone and the handler did not run. */
  private async runJob(claim: ClaimedJob, now: number): Promise<boolean> {
    const handler = this.handlers.get(claim.kind);
    if (!handler) throw new Error(`no job handler for '${claim.kind}'`);
    let error: unknown;
    for (let attempt = 0; ; attempt++) {
      try {
        const ran = await this.db.transaction(async (tx) => {
          const job = await lockClaimed(tx, claim);
          if (!job) return false;
          await handler.run(tx, job, now);
          await completeJob(tx, claim);
          return true;
        });
        if (ran) {
          this.stats.done++;
          handler.committed?.();
        } else this.stats.lost++;
        return ran;
      } catch (e) {
        if (isContention(e) && attempt < CONTENTION_RETRIES) continue;
        error = e;
        break;
      }
    }
    const message = String((error as Error)?.stack ?? error).slice(0, 4000);
    const retryAt = now + retryDelay(claim.attempts, handler.backoff, this.options.random ?? Math.random);
    const outcome = await failJob(this.db, claim, message, retryAt);
    if (outcome === "lost") this.stats.lost++;
    else {
      if (outcome === "retry") this.stats.retried++;
      else this.stats.failed++;
      this.options.onFailure?.(claim, error, outcome);
    }
    return true;
  }

  /**
   * Runs claimed jobs of one kind through its batch handler, in one transaction (retried on
   * contention); if that fails, each alone. Returns how many handlers ran.
   */
  private async runBatch(claims: ClaimedJob[], now: number): Promise<number> {
    const handler = this.handlers.get((claims[0] as ClaimedJob).kind);
    const batch = handler?.batch as BatchHandler;
    for (let attempt = 0; ; attempt++) {
      try {
        const ran = await this.db.transaction(async (tx) => {
          const jobs = await lockClaimedMany(tx, claims);
          if (jobs.length > 0) await batch(tx, jobs, now);
          const locked = new Set(jobs.map((j) => j.id));
          await completeJobs(
            tx,
            claims.filter((c) => locked.has(c.id)),
          );
          return jobs.length;
        });
        this.stats.done += ran;
        this.stats.lost += claims.length - ran;
        if (ran > 0) handler?.committed?.();
        return ran;
      } catch (e) {
        if (isContention(e) && attempt < CONTENTION_RETRIES) continue;
        break;
      }
    }
    this.stats.split++;
    let ran = 0;
    for (const claim of claims) if (await this.runJob(claim, now)) ran++;
    return ran;
  }

  private async run(): Promise<void> {
    const pollMs = this.options.pollMs ?? 1_000;
    let failing = 0;
    while (this.running) {
      try {
        this.timer.woken = false;
        await this.runDue();
        await this.maybePrune();
        failing = 0;
      } catch (e) {
        this.stats.errors++;
        this.options.onError?.(e);
        failing++;
      }
      if (!this.running || (this.timer.woken && failing === 0)) continue;
      // After failures (the database down, say) each try waits longer, up to 30 s.
      await this.timer.sleep(failing === 0 ? pollMs : Math.min(30_000, pollMs * 2 ** failing));
    }
  }

  private async maybePrune(): Promise<void> {
    const now = this.options.clock();
    if (this.lastPrune !== null && now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    await pruneJobs(this.db, this.options.retainMs ?? 7 * 86_400_000);
  }
}

/**
 * Claimed jobs in the order to run them: each on its own, except that the jobs of a kind with a
 * batch handler go together, where the first of them stood.
 */
function groupBatches(claimed: readonly ClaimedJob[], batched: (kind: string) => boolean): ClaimedJob[][] {
  const groups: ClaimedJob[][] = [];
  const byKind = new Map<string, ClaimedJob[]>();
  for (const job of claimed) {
    if (!batched(job.kind)) {
      groups.push([job]);
      continue;
    }
    let group = byKind.get(job.kind);
    if (!group) {
      group = [];
      byKind.set(job.kind, group);
      groups.push(group);
    }
    group.push(job);
  }
  return groups;
}
