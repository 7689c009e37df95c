import type { Queryable } from "./database.js";

/**
 * Which event seqs are settled: committed or rolled back, none of them still in a transaction that
 * may yet commit. A reader that walks the event log by seq (the analytics rollup) must not move past
 * a seq that is still in flight: it is invisible now, and would be behind the reader when it
 * commits.
 *
 * A point is the last seq handed out at some moment, with the transactions then in flight. Every
 * writer of events has its transaction id before it takes a seq: ingest's insert asks for it in
 * its `where` (`XID_FIRST`), a stage fact's too, a processing batch has locked rows before it
 * writes its derived events, and the history writer (demo, benchmarks) has written leads first. So a transaction holding a seq at or below the point's was in flight
 * at the point (it is in the list) or had ended, and the point is settled once every transaction in
 * its list has ended, as a snapshot taken then sees it. The sequence must hand its values out one
 * at a time (`cache 1`, the default), or a connection could later hand out a value it cached before.
 *
 * Settling is monotonic: a transaction in an older point's list that is still running is in every
 * newer point's list too, so when a newer point settles, every older one has.
 */
export interface SeqPoint {
  seq: number;
  /** Transaction ids (xid8, as text) in flight when the point was taken. */
  xids: string[];
}

/** A condition for an INSERT … SELECT into events: gives the transaction its id before any seq. */
export const XID_FIRST = "pg_current_xact_id() is not null";

/** The last event seq handed out, and the transactions in flight now, besides the caller's. */
export async function seqPoint(q: Queryable): Promise<SeqPoint> {
  const [last] = await q.query<{ seq: string | null }>(
    "select pg_sequence_last_value(pg_get_serial_sequence('events', 'seq')::regclass)::text as seq",
  );
  // A second statement, so a second snapshot: whoever took a seq up to `last` already had its id.
  const running = await q.query<{ xid: string }>(
    `select x::text as xid from pg_snapshot_xip(pg_current_snapshot()) x
     where x is distinct from pg_current_xact_id_if_assigned()`,
  );
  return { seq: Number(last?.seq ?? 0), xids: running.map((r) => r.xid) };
}

/** Whether every transaction of the point has ended. */
async function isSettled(q: Queryable, point: SeqPoint): Promise<boolean> {
  if (point.xids.length === 0) return true;
  const [r] = await q.query<{ running: number }>(
    `select count(*)::int as running from unnest($1::text[]) x
     where not pg_visible_in_snapshot(x::xid8, pg_current_snapshot())`,
    [point.xids],
  );
  return r?.running === 0;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Points kept while none settles (a long transaction in flight): the oldest and the newest. */
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
  for (let i = points.length - 2; i >= 0; i--)
    if (await isSettled(q, points[i] as SeqPoint))
      return { settled: points[i] as SeqPoint, waiting: keep(points.slice(i + 1)) };
  return { settled: null, waiting: keep([...points]) };
}

function keep(points: SeqPoint[]): SeqPoint[] {
  return points.length <= KEEP ? points : [points[0] as SeqPoint, ...points.slice(points.length - KEEP + 1)];
}
