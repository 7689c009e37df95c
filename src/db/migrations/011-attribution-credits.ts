/**
 * Attribution credits, a rollup kept by the `analytics.rollup` job (src/analytics/rollup.ts,
 * docs/analytics.md): for each outcome of a lead (created, first MQL, SQL, opportunity, won), the
 * credit each model gives to each channel, source and campaign of its touches, touches with the
 * same three summed. A row with no channel is an outcome with no touch at or before it. The
 * attribution report sums these over a range. Existing installations rebuild their rollups (the
 * watermark goes back to the start), so every lead gets its credits.
 */
export const sql = `
create table attribution_credits (
  workspace_id text not null,
  lead_id text not null,
  outcome text not null,
  at bigint not null,
  channel text,
  source text,
  campaign text,
  first_touch double precision not null,
  last_touch double precision not null,
  linear double precision not null,
  u_shaped double precision not null,
  w_shaped double precision not null,
  -- The won handoff's amount, on won rows.
  amount numeric
);
create index attribution_credits_by_at on attribution_credits (workspace_id, at);
create index attribution_credits_by_lead on attribution_credits (workspace_id, lead_id);
update service_state set value = '{"events": 0, "merges": 0}'::jsonb where key = 'analytics.rollup';
`;
