/**
 * Conversion paths move out of `lead_funnel` into `lead_paths` (src/analytics/rollup.ts): the paths
 * were half of each funnel row's bytes, and every funnel, velocity and attribution report scans
 * `lead_funnel`, while only the paths report reads them. The funnel table is rewritten (clustered
 * on its key) so that the dropped columns' space goes.
 */
export const sql = `
create table lead_paths (
  workspace_id text not null,
  lead_id text not null,
  -- The lead's milestones the paths report counts by (as in lead_funnel), so that it reads this table alone.
  lead_at bigint,
  mql_at bigint,
  customer_at bigint,
  -- Touchpoint types in order up to its first MQL (or up to now, if none), and up to its win.
  path_to_mql text[] not null default '{}',
  path_to_won text[] not null default '{}',
  primary key (workspace_id, lead_id)
);
create index lead_paths_by_lead_at on lead_paths (workspace_id, lead_at);
create index lead_paths_by_mql_at on lead_paths (workspace_id, mql_at);
insert into lead_paths (workspace_id, lead_id, lead_at, mql_at, customer_at, path_to_mql, path_to_won)
  select workspace_id, lead_id, lead_at, mql_at, customer_at, path_to_mql, path_to_won from lead_funnel;
alter table lead_funnel drop column path_to_mql, drop column path_to_won;
cluster lead_funnel using lead_funnel_pkey;
`;
