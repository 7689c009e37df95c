import type { Database, Queryable } from "../../db/database.js";
import { Mutex } from "../../pipeline/mutex.js";
import { type Backoff, retryDelay } from "../../scheduler/backoff.js";
import { PollTimer } from "../../scheduler/poll-timer.js";
import {
  type ClaimedDelivery,
  claimDeliveries,
  type Outcome,
  pruneDelivered,
  recordOutcomes,
} from "./deliveries.js";
import { fanOut, ModelCache } from "./fan-out.js";
import { type AttemptResult, Mailer, postWebhook } from "./send.js";
import { disableGone } from "./subscriptions.js";

/**
 * The notification sender that every processing process runs (`qualify start`, `qualify worker`).
 * It works in passes, each one short transaction (on PGlite, one turn of its one connection):
 *
 * 1. Record: the outcomes of the sends that finished since the last pass, in one statement. A
 *    failure is retried with exponential backoff and jitter until the retry window (24 h) has
 *    passed; then the delivery is dead.
 * 2. Fan-out: a batch of outbox messages becomes deliveries (`fan-out.ts`).
 * 3. Claim: due deliveries of each active subscription, under a lease, up to a few times its
 *    concurrency (so that one pass feeds many sends), less what this process holds of it already.
 *
 * Once the pass commits, the claimed deliveries are sent outside any transaction, each with a
 * timeout, at most `perSubscription` at a time per subscription: deliveries to different
 * subscriptions run side by side, so a slow receiver holds back only its own. A send that
 * finishes starts the next waiting one of its subscription at once; the outcomes go into the next
 * pass. A claim's lease covers its wait for a slot (see `claimDeliveries`).
 *
 * It wakes when the pipeline commits a batch (`wake()`), when sends finish, and otherwise polls.
 * Time is the service clock: tests call `runDue(at)` with theirs.
 */

export interface DispatcherOptions {
  clock: () => number;
  /** How often it looks for work when nothing wakes it. */
  pollMs: number;
  /** The longest one HTTP request (or SMTP exchange) may take. */
  timeoutMs: number;
  /** How long a delivery is retried before it is dead-lettered. */
  retryWindowMs: number;
  /** Requests in flight at once per subscription. */
  perSubscription: number;
  /** Requests in flight at once in this process. */
  maxInFlight?: number;
  backoff?: Backoff;
  random?: () => number;
  smtpUrl?: string | undefined;
  smtpFrom?: string;
  /** Outbox messages per fan-out. */
  fanOutBatch?: number;
  /** How long delivered deliveries are kept. */
  retainMs?: number;
  onError?: (e: unknown) => void;
}

export const WEBHOOK_BACKOFF: Backoff = { baseMs: 5_000, capMs: 3_600_000 };

export interface DispatcherStats {
  fannedOut: number;
  attempts: number;
  delivered: number;
  retried: number;
  dead: number;
  errors: number;
}

const PRUNE_EVERY_MS = 3_600_000;
/** The longest a finished send waits for others before the next pass stores its outcome. */
const COALESCE_MS = 5;
/** A pass claims up to this many times a subscription's concurrency. */
const CLAIM_FACTOR = 8;

/** What this process holds of one subscription. */
interface Held {
  inFlight: number;
  /** Claimed, waiting for a free slot. */
  waiting: ClaimedDelivery[];
}

export class WebhookDispatcher {
  readonly stats: DispatcherStats = {
    fannedOut: 0,
    attempts: 0,
    delivered: 0,
    retried: 0,
    dead: 0,
    errors: 0,
  };
  private readonly models = new ModelCache();
  private readonly mailer: Mailer;
  private readonly timer = new PollTimer();
  /** One pass at a time: the loop's and `runDue`'s. */
  private readonly passes = new Mutex();
  /** By workspace and subscription id. */
  private readonly held = new Map<string, Held>();
  private readonly flights = new Set<Promise<void>>();
  /** Lease tokens of the sends in flight, with how many each. */
  private readonly leasesInFlight = new Map<string, number>();
  private outcomes: Outcome[] = [];
  /** Subscriptions whose receiver answered 410 Gone, to switch off in the next pass. */
  private gone: { ws: string; id: string }[] = [];
  private stopper = new AbortController();
  private running = false;
  /** Between `stop()` and its end: nothing new is claimed. */
  private stopping = false;
  private loop: Promise<void> | null = null;
  private lastPrune: number | null = null;
  /** Set by `wake()`: the outbox may have new messages (finished sends only free slots). */
  private outboxHint = true;
  /** When (performance.now()) the outbox was last looked at: at least every poll interval. */
  private lastFanOut = Number.NEGATIVE_INFINITY;
  /** Sends finished since the last wake, and the timer that wakes for them (see `finished`). */
  private freed = 0;
  private coalesce: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Database,
    private readonly o: DispatcherOptions,
  ) {
    this.mailer = new Mailer(o.smtpUrl, o.smtpFrom ?? "qualify@localhost", o.timeoutMs);
  }

  /** A claim holds this long: past it, a delivery whose sender died is sent again. */
  get leaseMs(): number {
    return this.o.timeoutMs + 5_000;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    this.stopper = new AbortController();
    this.loop = this.run();
  }

  /**
   * Stops: requests in flight are cut short, and they and the claims still waiting are given back
   * (due at once, for the next sender; a receiver may have one already, and will see its id again).
   */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    this.timer.wake();
    await this.loop;
    this.loop = null;
    this.stopper.abort();
    const at = this.o.clock();
    for (const h of this.held.values())
      for (const d of h.waiting.splice(0)) this.outcomes.push(released(d, at));
    await this.settled();
    if (this.coalesce) clearTimeout(this.coalesce);
    this.coalesce = null;
    if (this.outcomes.length > 0 || this.gone.length > 0)
      await this.pass(this.o.clock(), { claim: false, fan: false }).catch((e) => this.o.onError?.(e));
    this.mailer.close();
    this.stopping = false;
  }

  /** New outbox messages, or a delivery made due: look now rather than at the next poll. */
  wake(): void {
    this.outboxHint = true;
    this.timer.wake();
  }

  /**
   * Fans out every waiting message and sends every delivery due at `at` (tests pass their clock's
   * time), waiting for the answers, until nothing more is due. Returns the attempts made.
   */
  async runDue(at?: number): Promise<number> {
    let attempts = 0;
    while (!this.stopping) {
      const claimed = await this.pass(at ?? this.o.clock(), { fan: true });
      attempts += claimed;
      if (claimed === 0 && this.flights.size === 0 && !this.outboxHint) {
        if (this.outcomes.length > 0 || this.gone.length > 0)
          await this.pass(at ?? this.o.clock(), { claim: false, fan: false });
        return attempts;
      }
      await this.settled();
    }
    return attempts;
  }

  /** Resolves once nothing is in flight or waiting for a slot. */
  private async settled(): Promise<void> {
    while (this.flights.size > 0) await Promise.all([...this.flights]);
  }

  private async run(): Promise<void> {
    let failing = 0;
    while (this.running) {
      try {
        this.timer.woken = false;
        const now = this.o.clock();
        await this.pass(now);
        await this.maybePrune(now);
        failing = 0;
      } catch (e) {
        this.stats.errors++;
        this.o.onError?.(e);
        failing++;
      }
      if (!this.running || (this.timer.woken && failing === 0)) continue;
      await this.timer.sleep(failing === 0 ? this.o.pollMs : Math.min(30_000, this.o.pollMs * 2 ** failing));
    }
  }

  /**
   * One pass, in one transaction: store the outcomes so far, fan out a batch of outbox messages (`fan`; by default when woken for them or a
   * poll interval has passed), claim what is due. Once it commits, sending starts. Returns how
   * many deliveries it claimed.
   */
  private pass(now: number, o: { fan?: boolean; claim?: boolean } = {}): Promise<number> {
    return this.passes.run(async () => {
      const outcomes = this.outcomes;
      const gone = this.gone;
      this.outcomes = [];
      this.gone = [];
      const fan = o.fan ?? (this.outboxHint || performance.now() - this.lastFanOut >= this.o.pollMs);
      if (fan) {
        this.outboxHint = false;
        this.lastFanOut = performance.now();
      }
      const limit = this.o.fanOutBatch ?? 500;
      let fanned = { messages: 0, deliveries: 0 };
      let claimed: ClaimedDelivery[] = [];
      try {
        claimed = await this.db.transaction(async (tx) => {
          await recordOutcomes(tx, outcomes);
          for (const g of gone) await disableGone(tx, g.ws, g.id, now);
          if (fan) fanned = await fanOut(tx, { now, limit, models: this.models });
          return o.claim === false || this.stopping ? [] : this.claim(tx, now);
        });
      } catch (e) {
        // Kept for the next pass; their leases stay, so nobody else sends them meanwhile.
        this.outcomes.unshift(...outcomes);
        this.gone.unshift(...gone);
        if (fan) this.outboxHint = true;
        throw e;
      }
      for (const x of outcomes)
        if (x.status === "delivered") this.stats.delivered++;
        else if (x.status === "pending") this.stats.retried++;
        else if (x.status === "dead") this.stats.dead++;
      this.stats.fannedOut += fanned.deliveries;
      // A full batch: more may wait, so the next pass fans out again, at once.
      if (fanned.messages >= limit) {
        this.outboxHint = true;
        this.timer.wake();
      }
      for (const d of claimed) this.holdOf(d).waiting.push(d);
      this.stats.attempts += claimed.length;
      this.pump();
      return claimed.length;
    });
  }

  private claim(tx: Queryable, now: number): Promise<ClaimedDelivery[]> {
    const busy = [...this.held].map(([key, h]) => {
      const [workspaceId, id] = key.split("\n") as [string, string];
      return { workspaceId, id, inFlight: h.inFlight + h.waiting.length };
    });
    const held = new Set([...this.held.values()].flatMap((h) => h.waiting.map((d) => d.lease)));
    for (const t of this.leasesInFlight.keys()) held.add(t);
    // Finished after this pass began: their outcomes go into the next one.
    for (const o of this.outcomes) held.add(o.delivery.lease);
    return claimDeliveries(tx, {
      held: [...held],
      now,
      leaseMs: this.leaseMs,
      limit: this.o.perSubscription * CLAIM_FACTOR,
      concurrency: this.o.perSubscription,
      timeoutMs: this.o.timeoutMs,
      busy,
    });
  }

  private holdOf(d: ClaimedDelivery): Held {
    const key = `${d.workspaceId}\n${d.subscriptionId}`;
    let h = this.held.get(key);
    if (!h) {
      h = { inFlight: 0, waiting: [] };
      this.held.set(key, h);
    }
    return h;
  }

  /** Starts waiting deliveries while their subscription (and the process) has free slots. */
  private pump(): void {
    const max = this.o.maxInFlight ?? 256;
    for (const [key, h] of this.held) {
      while (h.waiting.length > 0 && h.inFlight < this.o.perSubscription && this.flights.size < max) {
        const d = h.waiting.shift() as ClaimedDelivery;
        h.inFlight++;
        this.leasesInFlight.set(d.lease, (this.leasesInFlight.get(d.lease) ?? 0) + 1);
        const flight = this.send(d).then((r) => {
          this.flights.delete(flight);
          h.inFlight--;
          const n = (this.leasesInFlight.get(d.lease) ?? 1) - 1;
          if (n <= 0) this.leasesInFlight.delete(d.lease);
          else this.leasesInFlight.set(d.lease, n);
          this.outcomes.push(this.outcome(d, r));
          if (h.inFlight === 0 && h.waiting.length === 0) this.held.delete(key);
          this.pump();
          this.finished();
        });
        this.flights.add(flight);
      }
    }
  }

  /**
   * A send finished. The next pass (store outcomes, claim more) runs once a subscription's worth
   * of sends have finished, or a few milliseconds after the first, so that each pass handles many.
   */
  private finished(): void {
    this.freed++;
    if (this.freed >= this.o.perSubscription) {
      this.freed = 0;
      this.timer.wake();
    } else
      this.coalesce ??= setTimeout(() => {
        this.coalesce = null;
        this.freed = 0;
        this.timer.wake();
      }, COALESCE_MS);
  }

  private send(d: ClaimedDelivery): Promise<AttemptResult> {
    if (d.target.kind === "email") return this.mailer.send(d);
    // Signed with the time the request leaves.
    return postWebhook(d, d.target, {
      now: this.o.clock(),
      timeoutMs: this.o.timeoutMs,
      stop: this.stopper.signal,
    });
  }

  private outcome(d: ClaimedDelivery, r: AttemptResult): Outcome {
    const at = this.o.clock();
    const base = { delivery: d, httpStatus: r.status, error: r.error, durationMs: r.durationMs, at };
    if (r.aborted) return released(d, at);
    if (r.ok) return { ...base, status: "delivered", nextAttemptAt: at };
    if (r.gone) {
      // 410 Gone: the receiver wants no more; the subscription is switched off (a user may switch it on).
      this.gone.push({ ws: d.workspaceId, id: d.subscriptionId });
      return {
        ...base,
        error: `${r.error ?? "HTTP 410"} (the subscription was disabled)`,
        status: "dead",
        nextAttemptAt: at,
      };
    }
    const end = d.windowStart + this.o.retryWindowMs;
    if (at >= end) return { ...base, status: "dead", nextAttemptAt: at };
    const wait = Math.max(
      retryDelay(d.attempts, this.o.backoff ?? WEBHOOK_BACKOFF, this.o.random ?? Math.random),
      Math.min(r.retryAfterMs ?? 0, 3_600_000),
    );
    return { ...base, status: "pending", nextAttemptAt: Math.min(at + wait, end) };
  }

  private async maybePrune(now: number): Promise<void> {
    if (this.lastPrune !== null && now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    await pruneDelivered(this.db, now - (this.o.retainMs ?? 7 * 86_400_000));
  }
}

/** Given back unattempted: due again at once, the attempt not counted. */
function released(d: ClaimedDelivery, at: number): Outcome {
  return {
    delivery: d,
    status: "released",
    nextAttemptAt: at,
    httpStatus: null,
    error: null,
    durationMs: null,
    at,
  };
}
