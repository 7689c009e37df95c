/**
 * The leads table's sorts (`api/lead-queries.ts`), each an index in the order the list walks it,
 * so that its first page reads 50 rows instead of sorting the workspace's leads: newest activity
 * (the dashboard's default), first seen, MQL time, and the engagement score (the score group the
 * default model calls `engagement`; other groups sort without an index). The owner filter has its
 * index, and the channel filter reads the analytics rollup by first-touch channel.
 *
 * `last_event_at` and the scores change with every event, so their indexes are written on every
 * lead update (no HOT updates): the price of a fast leads table. bench/README.md has the cost
 * (a rescore 23 % slower) and the gain (the table's slowest view 532 ms → 57 ms p99).
 */
export const sql = `
create index leads_list_by_last_event on leads (workspace_id, (coalesce(last_event_at, 0)::float8), id)
  where merged_into is null;
create index leads_list_by_first_seen on leads (workspace_id, (first_seen_at::float8), id)
  where merged_into is null;
create index leads_list_by_mql on leads (workspace_id, (coalesce(mql_at, 0)::float8), id)
  where merged_into is null;
create index leads_list_by_engagement on leads (workspace_id, (coalesce((scores->>'engagement')::float8, 0)), id)
  where merged_into is null;
create index leads_by_owner on leads (workspace_id, owner) where merged_into is null;
create index lead_funnel_by_channel on lead_funnel (workspace_id, first_channel, lead_id);
`;
