import type { Database, Queryable } from "../db/database.js";
import { type ArrayType, arrayLiteral } from "../db/insert-rows.js";
import type { FactInput, Input } from "../engine/index.js";

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

/** A stage fact about a known lead, as a row to append. */
export const factEvent = (
  workspaceId: string,
  leadId: string,
  input: FactInput,
  receivedAt: number,
  notify: boolean,
): NewEvent => ({
  workspaceId,
  kind: "fact",
  type: null,
  userId: null,
  anonymousId: null,
  previousId: null,
  leadId,
  receivedAt,
  input,
  notify,
});

/** The columns ingest writes besides `input`, with how each is read from a new event. */
const COLUMNS: readonly { name: string; type: ArrayType; of: (e: NewEvent) => unknown }[] = [
  { name: "workspace_id", type: "text", of: (e) => e.workspaceId },
  { name: "message_id", type: "text", of: (e) => e.input.id },
  { name: "kind", type: "text", of: (e) => e.kind },
  { name: "type", type: "text", of: (e) => e.type },
  { name: "user_id", type: "text", of: (e) => e.userId },
  { name: "anonymous_id", type: "text", of: (e) => e.anonymousId },
  { name: "previous_id", type: "text", of: (e) => e.previousId },
  { name: "lead_id", type: "text", of: (e) => e.leadId },
  { name: "at", type: "bigint", of: (e) => e.input.at },
  { name: "received_at", type: "bigint", of: (e) => e.receivedAt },
  { name: "notify", type: "boolean", of: (e) => e.notify },
];

/**
 * Rows per statement. One statement is atomic on its own; a larger call (a very large import chunk)
 * runs several in one transaction.
 */
const ROWS_PER_STATEMENT = 5000;

/** For each event given: its seq when it was stored now, or null when it was a duplicate. */
export type AppendResult = (number | null)[];

/** A messageId already stored in the workspace (the unique index on workspace_id, message_id). */
const UNIQUE_VIOLATION = "23505";
const isDuplicate = (e: unknown) => (e as { code?: unknown } | null)?.code === UNIQUE_VIOLATION;

/**
 * How a statement answers. `seqs`: a plain INSERT answering the new seqs, a row each; `aggregate`:
 * the same, as one text value (PGlite, where a row per event costs about as much as inserting
 * it); `new`: with `on conflict do nothing`, the rows it stored with their messageIds.
 */
type Answer = "seqs" | "aggregate" | "new";

/**
 * One INSERT … SELECT for any number of rows, with a fixed number of parameters: a column whose
 * value is the same in every row (the workspace, the kind, often the receive time) is one
 * parameter, any other is an array unnested in step with the rest (`rows from`), and the inputs are
 * one JSON array split by `jsonb_array_elements`, so that each input is serialised once, by one
 * JSON.stringify, and parsed once, by the database. `order by ord` keeps the seqs in the order
 * given (the function scan is already in that order: the plan has no sort). A seq is taken per row
 * as it is inserted, so within one statement the seqs rise in the order given (another
 * connection's inserts may leave gaps between them).
 *
 * `on conflict do nothing` costs the database about a third more per row (a speculative
 * insertion: an extra index probe and WAL record per row), so a plain INSERT goes first, and the
 * statement runs again with it only when a messageId turns out to be stored already.
 */
function insertStatement(events: readonly NewEvent[], answer: Answer): { sql: string; params: unknown[] } {
  const params = new Array<unknown>(COLUMNS.length + 1);
  const first = events[0] as NewEvent;
  let arrays = 0;
  for (const [c, { of, type }] of COLUMNS.entries()) {
    const value = of(first);
    let uniform = true;
    for (let i = 1; i < events.length && uniform; i++) uniform = of(events[i] as NewEvent) === value;
    if (uniform) params[c] = value;
    else {
      arrays |= 1 << c;
      params[c] = arrayLiteral(events.map(of), type);
    }
  }
  params[COLUMNS.length] = JSON.stringify(events.map((e) => e.input));
  const key = `${answer} ${arrays}`;
  let sql = statements.get(key);
  if (sql === undefined) {
    sql = statementText(arrays, answer);
    statements.set(key, sql);
  }
  return { sql, params };
}

/** The statement's text for a set of array columns (a bit per column): a few shapes, built once. */
const statements = new Map<string, string>();

function statementText(arrays: number, answer: Answer): string {
  const select: string[] = [];
  const sources: string[] = [];
  const names: string[] = [];
  for (const [c, { name, type }] of COLUMNS.entries()) {
    if (arrays & (1 << c)) {
      sources.push(`unnest($${c + 1}::${type}[])`);
      names.push(name);
      select.push(`r.${name}`);
    } else select.push(`$${c + 1}::${type}`);
  }
  sources.push(`jsonb_array_elements($${COLUMNS.length + 1}::jsonb)`);
  names.push("input", "ord");
  const insert =
    `insert into events (${COLUMNS.map((c) => c.name).join(", ")}, input) ` +
    `select ${select.join(", ")}, r.input ` +
    `from rows from (${sources.join(", ")}) with ordinality as r(${names.join(", ")}) order by r.ord`;
  switch (answer) {
    case "seqs":
      return `${insert} returning seq`;
    case "aggregate":
      return `with stored as (${insert} returning seq) select string_agg(seq::text, ',' order by seq) as seqs from stored`;
    case "new":
      return `${insert} on conflict (workspace_id, message_id) do nothing returning workspace_id, message_id, seq`;
  }
}

type Stored = { workspace_id: string; message_id: string; seq: number };

/** Runs a statement per ROWS_PER_STATEMENT events; several share a transaction. */
async function inChunks<T>(
  db: Database,
  events: readonly NewEvent[],
  run: (q: Queryable, chunk: readonly NewEvent[]) => Promise<T[]>,
): Promise<T[]> {
  if (events.length <= ROWS_PER_STATEMENT) return run(db, events);
  return db.transaction(async (tx) => {
    const out: T[] = [];
    for (let start = 0; start < events.length; start += ROWS_PER_STATEMENT)
      for (const r of await run(tx, events.slice(start, start + ROWS_PER_STATEMENT))) out.push(r);
    return out;
  });
}

/**
 * Every event stored, or none (a duplicate fails the statement): their seqs, in order. On
 * PostgreSQL a row per seq (the aggregate's CTE costs more to plan than the rows cost to send, for
 * a few dozen rows), on PGlite one value.
 */
async function insertAll(db: Database, events: readonly NewEvent[]): Promise<number[]> {
  const aggregate = db.kind === "pglite";
  const seqs = await inChunks(db, events, async (q, chunk) => {
    const { sql, params } = insertStatement(chunk, aggregate ? "aggregate" : "seqs");
    if (aggregate) {
      const [row] = await q.query<{ seqs: string | null }>(sql, params);
      return row?.seqs ? row.seqs.split(",").map(Number) : [];
    }
    return (await q.query<{ seq: number }>(sql, params)).map((r) => r.seq).sort((a, b) => a - b);
  });
  if (seqs.length !== events.length) throw new Error(`stored ${seqs.length} events of ${events.length}`);
  return seqs;
}

/** The events whose messageId is new: their seqs; null for the others (and for a second copy). */
async function insertNew(db: Database, events: readonly NewEvent[]): Promise<AppendResult> {
  const stored = await inChunks(db, events, (q, chunk) => {
    const { sql, params } = insertStatement(chunk, "new");
    return q.query<Stored>(sql, params);
  });
  const seqs = new Map<string, number>();
  for (const r of stored) seqs.set(keyOf(r.workspace_id, r.message_id), r.seq);
  return events.map((e) => {
    const key = keyOf(e.workspaceId, e.input.id);
    const seq = seqs.get(key);
    // The first of several copies in one call is the stored one.
    seqs.delete(key);
    return seq ?? null;
  });
}

const keyOf = (workspaceId: string, messageId: string) => `${workspaceId}\u0000${messageId}`;

/**
 * Statements that go straight to `on conflict do nothing`, per database, after a duplicate was
 * found: retries come in bursts (an SDK resending what timed out), and a failed plain INSERT is
 * wasted work.
 */
const CAREFUL_AFTER_DUPLICATE = 100;
const careful = new WeakMap<Database, number>();

/** `appendEvents` without the sync: committed, not yet acknowledgeable on PGlite. */
async function storeEvents(db: Database, events: readonly NewEvent[]): Promise<AppendResult> {
  if (events.length === 0) return [];
  const left = careful.get(db) ?? 0;
  if (left > 0) {
    careful.set(db, left - 1);
    return insertNew(db, events);
  }
  const keys = new Set<string>();
  for (const e of events) keys.add(keyOf(e.workspaceId, e.input.id));
  if (keys.size < events.length) return insertNew(db, events);
  try {
    return await insertAll(db, events);
  } catch (e) {
    if (!isDuplicate(e)) throw e;
    careful.set(db, CAREFUL_AFTER_DUPLICATE);
    return insertNew(db, events);
  }
}

/**
 * Appends events in one transaction; a `messageId` already stored in the workspace is skipped (a
 * retry counts once), and so is a second copy in the same call. The data is synced before this
 * returns, so a caller may acknowledge.
 */
export async function appendEvents(db: Database, events: readonly NewEvent[]): Promise<AppendResult> {
  const result = await storeEvents(db, events);
  if (events.length > 0) await db.sync();
  return result;
}

/** A deadlock between two commits that hold the same messageIds in different orders: retried. */
const DEADLOCK = "40P01";
const isDeadlock = (e: unknown) => (e as { code?: unknown } | null)?.code === DEADLOCK;

interface Pending {
  events: readonly NewEvent[];
  done: (r: AppendResult) => void;
  fail: (e: unknown) => void;
}

export interface EventWriterOptions {
  /**
   * Group commits in flight at once. PostgreSQL runs them on as many pooled connections and
   * flushes their WAL together, so requests do not wait for the commit before their own; PGlite
   * runs one statement at a time anyway, so it keeps one (and one sync) in flight. Default: 4 on
   * PostgreSQL, 1 on PGlite.
   */
  commits?: number;
  /** Events one group commit takes at most (a single larger call is written on its own). */
  groupEvents?: number;
  /**
   * While a commit is in flight, another starts only once this many events wait. A statement costs
   * PostgreSQL ~0.3 ms of CPU whatever its size (parse, plan, commit), about as much as 15 rows:
   * single events over many connections are written in groups of dozens rather than in several
   * groups of a few (half the database's CPU per event), and batches in groups of a few requests
   * (bench/README.md). The first commit never waits. Default 32.
   */
  minGroup?: number;
}

/**
 * Group commit: requests that arrive while every commit slot is busy wait and are written together
 * by the next free one, so many connections sending one event each share a transaction and a sync.
 */
export class EventWriter {
  private queue: Pending[] = [];
  private waiting = 0;
  private inFlight = 0;
  private readonly commits: number;
  private readonly groupEvents: number;
  private readonly minGroup: number;

  constructor(
    private readonly db: Database,
    private readonly onStored: () => void = () => undefined,
    options: EventWriterOptions = {},
  ) {
    this.commits = Math.max(1, options.commits ?? (db.kind === "postgres" ? 4 : 1));
    this.groupEvents = Math.max(1, options.groupEvents ?? ROWS_PER_STATEMENT);
    this.minGroup = Math.max(1, options.minGroup ?? 32);
  }

  append(events: readonly NewEvent[]): Promise<AppendResult> {
    if (events.length === 0) return Promise.resolve([]);
    return new Promise((done, fail) => {
      this.queue.push({ events, done, fail });
      this.waiting += events.length;
      this.pump();
    });
  }

  /** Resolves once every append made so far is answered (a clean shutdown waits for it). */
  async flushed(): Promise<void> {
    while (this.inFlight > 0 || this.queue.length > 0) await new Promise((r) => setTimeout(r, 10));
  }

  /** Starts a group commit in every free slot while requests wait. */
  private pump(): void {
    while (this.inFlight < this.commits && this.queue.length > 0) {
      // With a commit in flight, another starts only for a group worth its statement's fixed cost;
      // fewer waiting events wait for a slot, and join the group that takes them.
      if (this.inFlight > 0 && this.waiting < this.minGroup) return;
      let n = 1;
      let size = (this.queue[0] as Pending).events.length;
      while (n < this.queue.length && size + (this.queue[n] as Pending).events.length <= this.groupEvents)
        size += (this.queue[n++] as Pending).events.length;
      const group = this.queue.splice(0, n);
      this.waiting -= size;
      this.inFlight++;
      void this.commit(group);
    }
  }

  private async commit(group: Pending[]): Promise<void> {
    try {
      const events = group.length === 1 ? (group[0] as Pending).events : group.flatMap((g) => g.events);
      let result: AppendResult;
      try {
        result = await this.write(events);
      } catch (e) {
        // One request's bad row must not fail the others: write each on its own.
        if (group.length === 1) (group[0] as Pending).fail(e);
        else
          for (const g of group) {
            try {
              g.done(await this.write(g.events));
              this.onStored();
            } catch (err) {
              g.fail(err);
            }
          }
        return;
      }
      let offset = 0;
      for (const g of group) {
        g.done(result.slice(offset, offset + g.events.length));
        offset += g.events.length;
      }
      this.onStored();
    } finally {
      this.release();
    }
  }

  /** Frees the commit slot and starts the next group, once per commit. */
  private release(): void {
    this.inFlight--;
    this.pump();
  }

  /**
   * Stores and syncs, retrying a deadlock. The sync stays inside the commit slot: on PGlite,
   * starting the next group during the sync made groups smaller, and each statement and sync costs
   * PGlite's one thread about 2 ms (bench/README.md).
   */
  private async write(events: readonly NewEvent[]): Promise<AppendResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await appendEvents(this.db, events);
      } catch (e) {
        if (!isDeadlock(e) || attempt >= 3) throw e;
      }
    }
  }
}
