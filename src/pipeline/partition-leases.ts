import { randomInt } from "node:crypto";
import {
  countProcessing,
  joinProcessing,
  leasePartitions,
  PARTITIONS,
  releasePartitions,
} from "../db/advisory-locks.js";
import type { SessionConnection } from "../db/session-connection.js";

/**
 * Shares the event partitions out among the processing processes of one PostgreSQL database. Each
 * process holds its partitions as session advisory locks on a connection of its own, and takes a
 * fair share: ceil(partitions / processes). A process with more lets the extra go; one with fewer
 * takes free ones. When a process dies its connection drops, its partitions come free, and the
 * others take them at their next check (every second).
 */
export class PartitionLeases {
  private session: SessionConnection | null = null;
  private readonly owned = new Set<number>();
  private readonly member = randomInt(1, 2 ** 31 - 1);
  private checkedAt = Number.NEGATIVE_INFINITY;
  processes = 0;

  constructor(
    private readonly open: () => Promise<SessionConnection>,
    private readonly everyMs = 1_000,
  ) {}

  /** The partitions this process may process now; rebalanced at most every `everyMs`. */
  async current(now: number): Promise<number[]> {
    if (this.session && !this.session.alive) this.drop();
    if (!this.session || now - this.checkedAt >= this.everyMs) {
      this.checkedAt = now;
      try {
        await this.rebalance();
      } catch (e) {
        this.drop();
        throw e;
      }
    }
    return [...this.owned].sort((a, b) => a - b);
  }

  private drop(): void {
    void this.session?.close();
    this.session = null;
    this.owned.clear();
  }

  private async rebalance(): Promise<void> {
    if (!this.session) {
      const session = await this.open();
      try {
        await joinProcessing(session, this.member);
      } catch (e) {
        await session.close();
        throw e;
      }
      this.session = session;
    }
    const session = this.session;
    this.processes = await countProcessing(session);
    const share = Math.ceil(PARTITIONS / Math.max(1, this.processes));
    if (this.owned.size > share) {
      const extra = [...this.owned].sort((a, b) => b - a).slice(0, this.owned.size - share);
      await releasePartitions(session, extra);
      for (const p of extra) this.owned.delete(p);
    } else if (this.owned.size < share) {
      // Start at a random place, so that processes starting together do not all try the same ones.
      const start = randomInt(PARTITIONS);
      const offered: number[] = [];
      for (let i = 0; i < PARTITIONS; i++) {
        const p = (start + i) % PARTITIONS;
        if (!this.owned.has(p)) offered.push(p);
      }
      for (const p of await leasePartitions(session, offered, share - this.owned.size)) this.owned.add(p);
    }
  }

  async close(): Promise<void> {
    const session = this.session;
    this.session = null;
    this.owned.clear();
    await session?.close();
  }
}
