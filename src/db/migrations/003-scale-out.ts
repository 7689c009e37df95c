/**
 * Scale-out: events carry the partition that decides which processing process takes them, and a
 * stage fact's outcome is kept so that an API process can answer for a fact another process ran.
 */
export const sql = `
-- The partition an event belongs to (0..63), from the identity it names: a browser's anonymousId,
-- else the userId, else the lead (facts and account changes). Processing processes lease partitions.
alter table events add column partition smallint generated always as (
  (abs(hashtextextended(coalesce(anonymous_id, user_id, lead_id, message_id), 0)) % 64)::smallint
) stored;
-- Room on each page, so that rewriting a lead (every batch that touches it does) is mostly a
-- heap-only update that leaves its seven indexes alone.
alter table leads set (fillfactor = 75);
-- What processing made of a stage fact: its transitions and what was ignored.
alter table events add column outcome jsonb;
-- A lead's processed inputs in the order they were processed: a rescore (model publish or preview)
-- reads every lead's this way, and so does a replay. Partial, so that ingest's inserts skip it.
create index events_processed_by_lead on events (workspace_id, lead_id, processed_order) where processed;
`;
