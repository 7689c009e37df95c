import { setTimeout as sleep } from "node:timers/promises";
import { isContention } from "../db/contention.js";
import type { Database } from "../db/database.js";
import { isDatabaseUnavailable } from "../db/database-unavailable.js";
import { QualifyError } from "../errors.js";
import { BatchSizer } from "./batch-sizer.js";
import { type ActiveModel, activeModel } from "./model-store.js";
import { Mutex } from "./mutex.js";
import { OutcomeWaiters } from "./outcome-waiters.js";
import type { PartitionLeases } from "./partition-leases.js";
import { type EventOutcome, processBatch } from "./process-batch.js";
import { claimSweep, sweepDecay } from "./sweep-decay.js";

/**
 * Live processing: a loop that takes pending events in ingest order and runs them through the
 * engine, woken by ingest after each commit (and polling, for events another process stored).
 * One batch at a time in this process; model publishing and erasure run between batches through
 * `exclusive`. On PostgreSQL several processes may process at once: each takes the partitions it
 * leases (`PartitionLeases`), and row and advisory locks keep each lead serialized across them
 * (see `processBatch`).
 */

/** A batch that lost a lock race (deadlock, serialization failure) is run again this many times. */
const CONTENTION_RETRIES = 5;

/** A failure of the database rather than of the batch: unreachable, or a statement over its time. */
const isTransient = (e: unknown) =>
  isDatabaseUnavailable(e) || (e instanceof QualifyError && e.code === "DATABASE_TIMEOUT");

export interface PipelineStats {
  processed: number;
  transitions: number;
  /** Seconds between the oldest event of the last batch being received and it being processed. */
  lagSeconds: number;
  batches: number;
  errors: number;
  /** Events set aside because processing them failed repeatedly (see `events.error`). */
  quarantined: number;
  /** Batches run again after losing a lock race with another process. */
  retries: number;
  /** Partitions this process leases (all of them with one process). */
  partitions: number;
  /** Processing processes connected to the database, this one included. */
  processes: number;
}

export interface PipelineOptions {
  /** Events a batch takes; more while catching up on a backlog, up to `batchMax` (`BatchSizer`). */
  batchSize: number;
  /** The most events a batch takes while catching up (default: `batchSize`, so batches never grow). */
  batchMax?: number;
  /** While catching up, batches are sized to take about this long (default 250 ms). */
  batchTargetMs?: number;
  clock: () => number;
  pollMs?: number;
  /** How long a partly filled batch waits for more events before the next one runs. */
  coalesceMs?: number;
  decaySweepMs?: number;
  onError?: (e: unknown) => void;
  onBatch?: (processed: number, transitions: number, lagSeconds: number) => void;
  /** Shares partitions out with other processes (PostgreSQL); without it this process takes all. */
  leases?: PartitionLeases | null;
  /** How often waiters check for events that another process finished (PostgreSQL). */
  waiterPollMs?: number;
}

export class Pipeline {
  private readonly mutex = new Mutex();
  private readonly models = new Map<string, ActiveModel>();
  private readonly waiters = new OutcomeWaiters();
  private waiterPoll: NodeJS.Timeout | null = null;
  private readonly failures = new Map<string, { attempts: number }>();
  private readonly sizers = new Map<string, BatchSizer>();
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private lastSweep = 0;
  readonly stats: PipelineStats = {
    processed: 0,
    transitions: 0,
    lagSeconds: 0,
    batches: 0,
    errors: 0,
    quarantined: 0,
    retries: 0,
    partitions: 0,
    processes: 1,
  };

  constructor(
    private readonly db: Database,
    private readonly workspaces: readonly string[],
    private readonly options: PipelineOptions,
  ) {}

  /** The workspace's active model; a version published by another process is picked up here too. */
  async model(ws: string): Promise<ActiveModel> {
    const m = this.models.get(ws);
    if (m && this.db.kind === "postgres") {
      const rows = await this.db.query<{ version: number }>(
        "select version from models where workspace_id = $1 and active",
        [ws],
      );
      if (rows[0]?.version !== m.version) this.forgetModel(ws);
    }
    return this.cachedModel(ws);
  }

  /** The model this process last loaded; a batch checks its version itself (`staleModel`). */
  private async cachedModel(ws: string): Promise<ActiveModel> {
    let m = this.models.get(ws);
    if (!m) {
      m = await activeModel(this.db, ws);
      this.models.set(ws, m);
    }
    return m;
  }

  /** After a publish: the next batch uses the newly active model. */
  forgetModel(ws: string): void {
    this.models.delete(ws);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.lastSweep = this.options.clock();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    if (this.waiterPoll) clearInterval(this.waiterPoll);
    this.waiters.clear();
    await this.options.leases?.close();
  }

  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Resolves once the event with this seq is processed (by any process), with what happened to it. */
  waitFor(ws: string, seq: number): Promise<EventOutcome | undefined> {
    const outcome = this.waiters.wait(ws, seq);
    this.wake();
    // On PostgreSQL another process may be the one that processes it.
    if (this.db.kind === "postgres" && !this.waiterPoll) {
      this.waiterPoll = setInterval(() => {
        if (this.waiters.size === 0) {
          if (this.waiterPoll) clearInterval(this.waiterPoll);
          this.waiterPoll = null;
          return;
        }
        this.waiters.poll(this.db).catch((e) => this.options.onError?.(e));
      }, this.options.waiterPollMs ?? 100);
    }
    return outcome;
  }

  /**
   * Answers the waiters of events that will never be processed here: deleted by an erasure, or set
   * aside after failing. Without this, a request waiting on such an event would wait forever.
   */
  settle(seqs: readonly number[], outcome: EventOutcome): void {
    for (const seq of seqs) this.waiters.answer(seq, outcome);
  }

  /** Runs `fn` between batches, with processing held off until it ends. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(fn);
  }

  /** Processes until nothing is pending; returns how many events it processed. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.once();
      if (n === 0) return total;
      total += n;
    }
  }

  private async once(): Promise<number> {
    return this.mutex.run(async () => {
      let partitions: number[] | null = null;
      if (this.options.leases) {
        partitions = await this.options.leases.current(this.options.clock());
        this.stats.partitions = partitions.length;
        this.stats.processes = this.options.leases.processes;
        if (partitions.length === 0) return 0;
      }
      let n = 0;
      for (const ws of this.workspaces) {
        const r = await this.batchOf(ws, partitions);
        if (r.taken === 0) continue;
        n += r.taken;
        const lag =
          r.oldestReceivedAt === null ? 0 : Math.max(0, (this.options.clock() - r.oldestReceivedAt) / 1000);
        this.stats.processed += r.processed;
        this.stats.transitions += r.transitions;
        this.stats.lagSeconds = lag;
        this.stats.batches++;
        this.options.onBatch?.(r.processed, r.transitions, lag);
        for (const [seq, outcome] of r.outcomes) this.waiters.answer(seq, outcome);
      }
      if (n === 0) this.stats.lagSeconds = 0;
      return n;
    });
  }

  /**
   * One batch of the workspace. When a batch fails, the next attempts take one event at a time, to
   * find the event that fails; one that fails three times while the database answers is set aside
   * (marked processed, with its error kept in `events.error`) so that it cannot stall the rest.
   */
  private async batchOf(ws: string, partitions: number[] | null) {
    const isolating = this.failures.get(ws);
    const sizer = this.sizer(ws);
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          const started = performance.now();
          const r = await processBatch(
            this.db,
            ws,
            await this.cachedModel(ws),
            this.options.clock(),
            isolating ? 1 : sizer.next,
            partitions,
          );
          if (r.staleModel) {
            this.forgetModel(ws);
            continue;
          }
          if (!isolating) sizer.record(r.taken, performance.now() - started);
          this.failures.delete(ws);
          return r;
        } catch (e) {
          // Losing a lock race to another process is no fault of the events: run the batch again.
          if (!isContention(e) || attempt >= CONTENTION_RETRIES) throw e;
          this.stats.retries++;
        }
      }
    } catch (e) {
      // The database being down or slow is no fault of an event: nothing is counted against it.
      if (isTransient(e)) throw e;
      const f = this.failures.get(ws) ?? { attempts: 0 };
      f.attempts = isolating ? f.attempts + 1 : 0;
      this.failures.set(ws, f);
      if (isolating && f.attempts >= 3 && (await this.databaseAnswers())) {
        const error = String((e as Error).stack ?? e).slice(0, 4000);
        const aside = await this.db.query<{ seq: number }>(
          `update events set processed = true, lead_id = null, error = $2
           where workspace_id = $1 and seq = (select min(seq) from events where workspace_id = $1 and not processed)
           returning seq`,
          [ws, error],
        );
        this.failures.delete(ws);
        this.stats.quarantined++;
        // A request waiting on the event (a stage fact) learns that it failed.
        for (const a of aside)
          this.settle([a.seq], {
            leadId: null,
            transitions: [],
            ignored: [],
            failed: `processing failed repeatedly; the event was set aside: ${(e as Error).message ?? e}`,
          });
      }
      throw e;
    }
  }

  private sizer(ws: string): BatchSizer {
    let sizer = this.sizers.get(ws);
    if (!sizer) {
      const { batchSize, batchMax, batchTargetMs } = this.options;
      sizer = new BatchSizer(batchSize, Math.max(batchSize, batchMax ?? batchSize), batchTargetMs ?? 250);
      this.sizers.set(ws, sizer);
    }
    return sizer;
  }

  private async databaseAnswers(): Promise<boolean> {
    try {
      await this.db.query("select 1");
      return true;
    } catch {
      return false;
    }
  }

  private async run(): Promise<void> {
    const pollMs = this.options.pollMs ?? 250;
    let failing = 0;
    while (this.running) {
      let n = 0;
      try {
        this.woken = false;
        n = await this.once();
        await this.maybeSweep();
        failing = 0;
      } catch (e) {
        this.stats.errors++;
        this.options.onError?.(e);
        failing++;
      }
      if (!this.running || n >= this.options.batchSize) continue;
      if (failing === 0 && (n > 0 || this.woken)) {
        // Let events that arrive together gather, so that one transaction takes them all.
        await sleep(this.options.coalesceMs ?? 15);
        continue;
      }
      // After failures (the database down, say) the next try waits longer each time, up to 5 s.
      const wait = failing === 0 ? pollMs : Math.min(5_000, pollMs * 2 ** (failing - 1));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = null;
    }
  }

  private async maybeSweep(): Promise<void> {
    const every = this.options.decaySweepMs;
    const now = this.options.clock();
    if (every === undefined || now - this.lastSweep < every) return;
    this.lastSweep = now;
    for (const ws of this.workspaces)
      if (await claimSweep(this.db, ws, now, every)) await sweepDecay(this.db, ws, await this.model(ws), now);
  }

  /** Refreshes every lead's stored scores to `now` (decay), alongside processing. */
  async sweep(now: number): Promise<number> {
    let n = 0;
    for (const ws of this.workspaces) n += await sweepDecay(this.db, ws, await this.model(ws), now);
    return n;
  }
}
