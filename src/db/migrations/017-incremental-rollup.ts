/**
 * The analytics rollup continues each lead's sessions from its stored touchpoints
 * (src/analytics/rollup.ts):
 * - a touchpoint records whether a channel rule has settled its attribution (a later event of the
 *   session may still set it when none has);
 * - a merge records the event whose processing made it, so that a rollup step finds the merges of
 *   exactly the events it takes in, however commits interleave across processes.
 * The rollups are emptied and their watermark reset: the next rollup step, or the first report,
 * rebuilds them under the new rules.
 */
export const sql = `
alter table touchpoints add column classified boolean not null default false;
alter table lead_merges add column event_seq bigint;
create index lead_merges_by_event on lead_merges (workspace_id, event_seq);
truncate touchpoints, lead_funnel, lead_paths, stage_stays, attribution_credits;
update service_state set value = '{"events": 0}'::jsonb where key = 'analytics.rollup';
`;
