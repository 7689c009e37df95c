import type { Queryable } from "../db/database.js";
import type { EventOutcome } from "./process-batch.js";

const RECENT = 10_000;

/**
 * Requests waiting for their event to be processed (a stage fact answers with what came of it).
 * This process answers those it processed itself at once. With several processes, another one may
 * process the event: `poll` then reads the outcome it stored with the event.
 */
export class OutcomeWaiters {
  private readonly waiting = new Map<
    number,
    { ws: string; resolve: (o: EventOutcome | undefined) => void }
  >();
  /** Outcomes of the latest events, for a waiter that asks after its event was processed. */
  private readonly recent = new Map<number, EventOutcome>();

  get size(): number {
    return this.waiting.size;
  }

  wait(ws: string, seq: number): Promise<EventOutcome | undefined> {
    const done = this.recent.get(seq);
    if (done) return Promise.resolve(done);
    return new Promise((resolve) => this.waiting.set(seq, { ws, resolve }));
  }

  /** Remembers what happened to an event and tells whoever waits for it. */
  answer(seq: number, outcome: EventOutcome): void {
    this.recent.set(seq, outcome);
    if (this.recent.size > RECENT) this.recent.delete(this.recent.keys().next().value as number);
    const w = this.waiting.get(seq);
    if (w) {
      this.waiting.delete(seq);
      w.resolve(outcome);
    }
  }

  /** Reads the outcomes of waited-on events that another process finished (or an erasure deleted). */
  async poll(db: Queryable): Promise<void> {
    const byWs = new Map<string, number[]>();
    for (const [seq, w] of this.waiting) byWs.set(w.ws, [...(byWs.get(w.ws) ?? []), seq]);
    for (const [ws, seqs] of byWs) {
      const rows = await db.query<{
        seq: number;
        processed: boolean;
        lead_id: string | null;
        outcome: Pick<EventOutcome, "transitions" | "ignored"> | null;
        error: string | null;
        message_id: string;
      }>(
        "select seq, processed, lead_id, outcome, error, message_id from events where workspace_id = $1 and seq = any($2::bigint[])",
        [ws, seqs],
      );
      const found = new Set(rows.map((r) => r.seq));
      for (const r of rows) {
        if (!r.processed) continue;
        if (r.error !== null)
          this.answer(r.seq, {
            leadId: null,
            transitions: [],
            ignored: [],
            failed: `processing failed repeatedly; the event was set aside: ${r.error.split("\n")[0]}`,
          });
        else this.answer(r.seq, { leadId: r.lead_id, transitions: [], ignored: [], ...r.outcome });
      }
      // Gone: erased with its lead (dropped events are deleted, not processed).
      for (const seq of seqs)
        if (!found.has(seq))
          this.answer(seq, {
            leadId: null,
            transitions: [],
            ignored: [{ inputId: "", reason: "the lead was erased" }],
          });
    }
  }

  /** Answers every waiter with nothing (the service is stopping). */
  clear(): void {
    for (const w of this.waiting.values()) w.resolve(undefined);
    this.waiting.clear();
  }
}
