import { setTimeout as sleep } from "node:timers/promises";
import { NO_EVENTS } from "./advisory-locks.js";
import type { Queryable } from "./database.js";

/**
 * Which event seqs are settled: committed or rolled back, none of them still in a transaction that
 * may yet commit. A reader that walks the event log by seq (the analytics rollup) must not move past
 * a seq that is still in flight: it is invisible now, and would be behind the reader when it
 * commits.
 *
 * A point is the last seq handed out at some moment, with the transactions then running (their
 * virtual ids, which every transaction has from its start, before it takes any seq). A transaction
 * holding a seq at or below the point's is in that list, or had ended. The point is settled once
 * each of them has ended, or has gone `QUIET_MS` since the point without a transaction id: a
 * transaction gets its id when it first writes, microseconds after it takes a seq for the row it is
 * inserting, so one still without an id that long after the point took none before it. That way a
 * long read-only transaction (a backtest, `pg_dump`) does not hold readers back; a long writer does,
 * until it ends. A transaction that says it writes no events (`writesNoEvents`) is not waited for
 * at all. The sequence must hand its values out one at a time (`cache 1`, the default), or a
 * connection could later hand out a value it cached before.
 *
 * Settling is monotonic: a transaction in an older point's list that has not settled is running at
 * every newer point and is in its list too, so when a newer point settles, every older one has.
 */
export interface SeqPoint {
  seq: number;
  /** When the point was taken, on the database's clock (ms). */
  at: number;
  /** Virtual transaction ids running then, the taker's aside. */
  running: string[];
}

/** How long after a point a running transaction without an id is taken to hold none of its seqs. */
export const QUIET_MS = 1_000;

/** The advisory lock (two keys) a transaction holds to say that it writes no events. */
const NO_EVENTS_LOCK = [NO_EVENTS, 0] as const;

/**
 * Marks the caller's transaction as one that writes no events, so that points taken while it runs
 * do not wait for it. A rollup step says so first: two steps of one workspace run one after the
 * other (the second waits for the first's lock), and each would otherwise wait for the other.
 */
export async function writesNoEvents(tx: Queryable): Promise<void> {
  await tx.query("select pg_advisory_xact_lock_shared($1, $2)", [...NO_EVENTS_LOCK]);
}

/** `pg_locks`, read once per statement (each read of the view takes every lock partition). */
const LOCKS = `with l as materialized (
  select locktype, classid, objid, objsubid, mode, granted, pid, virtualxid, virtualtransaction from pg_locks)`;

/** The last event seq handed out, and the transactions running now, besides the caller's. */
export async function seqPoint(q: Queryable): Promise<SeqPoint> {
  const [last] = await q.query<{ seq: string | null }>(
    "select pg_sequence_last_value(pg_get_serial_sequence('events', 'seq')::regclass)::text as seq",
  );
  // A second statement: whoever took a seq up to `last` has started by now.
  const [now] = await q.query<{ at: number; running: string[] }>(
    `${LOCKS}
     select (extract(epoch from clock_timestamp()) * 1000)::bigint as at,
            coalesce(array_agg(v.virtualxid), '{}') as running
     from l v where v.locktype = 'virtualxid' and v.granted and v.pid <> pg_backend_pid()
       and not exists (select 1 from l n where n.locktype = 'advisory' and n.classid = $1 and n.objid = $2
                         and n.objsubid = 2 and n.granted and n.virtualtransaction = v.virtualxid)`,
    [...NO_EVENTS_LOCK],
  );
  return { seq: Number(last?.seq ?? 0), at: Number(now?.at ?? 0), running: now?.running ?? [] };
}

/** Whether every transaction of the point has ended, or has stayed without an id for `QUIET_MS`. */
async function isSettled(q: Queryable, point: SeqPoint): Promise<boolean> {
  if (point.running.length === 0) return true;
  const [r] = await q.query<{ unsettled: number }>(
    `${LOCKS}
     select count(*)::int as unsettled from l v
     where v.locktype = 'virtualxid' and v.granted and v.virtualxid = any($1::text[]) and v.pid <> pg_backend_pid()
       and (extract(epoch from clock_timestamp()) * 1000 - $2::bigint < $3
            or exists (select 1 from l x where x.locktype = 'transactionid' and x.mode = 'ExclusiveLock'
                         and x.granted and x.virtualtransaction = v.virtualxid))`,
    [point.running, point.at, QUIET_MS],
  );
  return r?.unsettled === 0;
}

/** Points kept while none settles (a long write in flight): the oldest and the newest. */
const KEEP = 16;

/**
 * The newest of these points (oldest first) that has settled, waiting up to `waitMs` for the
 * newest one (its transactions are mostly short ingest and processing commits); and the points
 * newer than it, to try again later.
 */
export async function settledPoint(
  q: Queryable,
  points: readonly SeqPoint[],
  waitMs: number,
): Promise<{ settled: SeqPoint | null; waiting: SeqPoint[] }> {
  const newest = points[points.length - 1];
  if (newest) {
    const until = performance.now() + waitMs;
    for (;;) {
      if (await isSettled(q, newest)) return { settled: newest, waiting: [] };
      if (performance.now() >= until) break;
      await sleep(10);
    }
  }
  for (let i = points.length - 2; i >= 0; i--) {
    const point = points[i] as SeqPoint;
    if (await isSettled(q, point)) return { settled: point, waiting: keep(points.slice(i + 1)) };
  }
  return { settled: null, waiting: keep([...points]) };
}

function keep(points: SeqPoint[]): SeqPoint[] {
  return points.length <= KEEP ? points : [points[0] as SeqPoint, ...points.slice(points.length - KEEP + 1)];
}
