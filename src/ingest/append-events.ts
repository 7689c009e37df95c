import type { Database } from "../db/database.js";
import { insertRows, rowsPerStatement } from "../db/insert-rows.js";
import type { Input } from "../engine/index.js";

/** An event row as ingest appends it; the pipeline resolves its lead later. */
export interface NewEvent {
  workspaceId: string;
  kind: "event" | "fact";
  type: string | null;
  userId: string | null;
  anonymousId: string | null;
  previousId: string | null;
  /** Set for facts, which name their lead. */
  leadId: string | null;
  receivedAt: number;
  /** The engine input: for a Segment call it keeps the call's `context` (campaign, page, consent…). */
  input: Input;
  notify: boolean;
}

const COLUMNS = [
  "workspace_id",
  "message_id",
  "kind",
  "type",
  "user_id",
  "anonymous_id",
  "previous_id",
  "lead_id",
  "at",
  "received_at",
  "input",
  "notify",
] as const;

const ROWS_PER_STATEMENT = rowsPerStatement(COLUMNS.length);

/** For each event given: its seq when it was stored now, or null when it was a duplicate. */
export type AppendResult = (number | null)[];

/**
 * Appends events in one transaction; a `messageId` already stored in the workspace is skipped (a
 * retry counts once). The data is synced before this returns, so a caller may acknowledge.
 */
export async function appendEvents(db: Database, events: readonly NewEvent[]): Promise<AppendResult> {
  if (events.length === 0) return [];
  const rows = events.map((e) => [
    e.workspaceId,
    e.input.id,
    e.kind,
    e.type,
    e.userId,
    e.anonymousId,
    e.previousId,
    e.leadId,
    e.input.at,
    e.receivedAt,
    JSON.stringify(e.input),
    e.notify,
  ]);
  const suffix = "on conflict (workspace_id, message_id) do nothing returning workspace_id, message_id, seq";
  type Inserted = { workspace_id: string; message_id: string; seq: number };
  // One statement is atomic on its own; more (a very large import chunk) share a transaction.
  const inserted =
    rows.length <= ROWS_PER_STATEMENT
      ? await insertRows<Inserted>(db, "events", COLUMNS, rows, suffix)
      : await db.transaction((tx) => insertRows<Inserted>(tx, "events", COLUMNS, rows, suffix));
  await db.sync();
  const seqs = new Map(inserted.map((r) => [`${r.workspace_id}\u0000${r.message_id}`, r.seq]));
  return events.map((e) => {
    const key = `${e.workspaceId}\u0000${e.input.id}`;
    const seq = seqs.get(key);
    // The first of several copies in one call is the stored one.
    seqs.delete(key);
    return seq ?? null;
  });
}

/**
 * Group commit: requests that arrive while a commit is running wait and are written together by the
 * next one, so many connections sending one event each share a transaction and a sync.
 */
export class EventWriter {
  private queue: {
    events: readonly NewEvent[];
    done: (r: AppendResult) => void;
    fail: (e: unknown) => void;
  }[] = [];
  private flushing = false;

  constructor(
    private readonly db: Database,
    private readonly onStored: () => void = () => undefined,
  ) {}

  append(events: readonly NewEvent[]): Promise<AppendResult> {
    return new Promise((done, fail) => {
      this.queue.push({ events, done, fail });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const group = this.queue.splice(0);
      try {
        const result = await appendEvents(
          this.db,
          group.flatMap((g) => g.events),
        );
        let offset = 0;
        for (const g of group) {
          g.done(result.slice(offset, offset + g.events.length));
          offset += g.events.length;
        }
        this.onStored();
      } catch (e) {
        // One request's bad row must not fail the others: write each on its own.
        if (group.length === 1) (group[0] as (typeof group)[number]).fail(e);
        else
          for (const g of group) {
            try {
              g.done(await appendEvents(this.db, g.events));
              this.onStored();
            } catch (err) {
              g.fail(err);
            }
          }
      }
    }
    this.flushing = false;
  }
}
