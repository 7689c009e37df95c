/**
 * The analytics rollups (src/analytics/rollup.ts, docs/analytics.md), kept current from the stored
 * facts by the `analytics.rollup` job:
 * - `touchpoints`: each profile's sessions (a lead's anonymous history included once merged), with
 *   the channel, source, medium and campaign, and the touchpoint types in order;
 * - `lead_funnel`: one row per lead with the first time it reached each funnel stage (or a later
 *   one), how often it became an MQL and was recycled, its first touch, and its paths of
 *   touchpoint types up to its first MQL and up to its win;
 * - `stage_stays`: each stay of a lead in a stage, from its transition in to the next one out.
 * Both are derived: dropping them and resetting the watermark rebuilds them.
 */
export const sql = `
create table touchpoints (
  workspace_id text not null,
  lead_id text not null,
  idx integer not null,
  start_at bigint not null,
  end_at bigint not null,
  channel text not null,
  source text,
  medium text,
  campaign text,
  events integer not null,
  types text[] not null default '{}',
  primary key (workspace_id, lead_id, idx)
);
create index touchpoints_by_start on touchpoints (workspace_id, start_at);

create table lead_funnel (
  workspace_id text not null,
  lead_id text not null,
  first_seen_at bigint not null,
  first_touch_at bigint,
  first_channel text,
  first_source text,
  first_campaign text,
  lead_at bigint,
  mql_at bigint,
  sal_at bigint,
  sql_at bigint,
  opportunity_at bigint,
  customer_at bigint,
  disqualified_at bigint,
  mqls integer not null default 0,
  recycles integer not null default 0,
  stage text not null,
  grade text,
  -- Touchpoint types in order up to its first MQL (or up to now, if none), and up to its win.
  path_to_mql text[] not null default '{}',
  path_to_won text[] not null default '{}',
  primary key (workspace_id, lead_id)
);
create index lead_funnel_by_lead_at on lead_funnel (workspace_id, lead_at);
create index lead_funnel_by_first_seen on lead_funnel (workspace_id, first_seen_at);
create index lead_funnel_by_mql_at on lead_funnel (workspace_id, mql_at);

create table stage_stays (
  workspace_id text not null,
  lead_id text not null,
  seq bigint not null,
  stage text not null,
  entered_at bigint not null,
  left_at bigint,
  primary key (workspace_id, lead_id, seq)
);
create index stage_stays_by_left on stage_stays (workspace_id, left_at);
`;
