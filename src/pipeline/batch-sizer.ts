/**
 * How many events the next batch of a workspace takes. With little pending, every batch takes what
 * there is, up to the configured size. While a backlog lasts (the batch before was full), the next
 * takes about `targetMs` of work, measured on the batch before, between that size and `max`: a bigger
 * batch writes each lead once for more of its events and spreads a transaction's fixed cost over more
 * of them, so processing catches up faster (bench/README.md), while no batch holds its locks (and
 * keeps a model publish or an erasure waiting) for much longer than `targetMs`.
 */
export class BatchSizer {
  private limit: number;

  constructor(
    private readonly base: number,
    private readonly max: number,
    private readonly targetMs: number,
  ) {
    this.limit = base;
  }

  /** Events the next batch may take. */
  get next(): number {
    return this.limit;
  }

  /** After a batch: it took `processed` events (its limit was `next`) in `ms`. */
  record(processed: number, ms: number): void {
    if (processed === 0 || processed < this.limit) {
      this.limit = this.base;
      return;
    }
    const fits = Math.round((this.targetMs * processed) / Math.max(ms, 1));
    this.limit = Math.max(this.base, Math.min(this.max, fits));
  }
}
