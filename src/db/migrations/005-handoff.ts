/**
 * The sales handoff (`src/handoff/`): routing documents with versions, owners' availability and
 * capacity, account owners, and handoffs with their history. Times are epoch milliseconds from the
 * service clock.
 */
export const sql = `
alter table users add column available boolean not null default true;
alter table users add column weekly_capacity integer check (weekly_capacity is null or weekly_capacity >= 0);

-- An account's owner gets its leads first; a customer account's leads never go to new business.
alter table accounts add column owner_id text;
alter table accounts add column customer boolean not null default false;

create table routing_versions (
  workspace_id text not null,
  version integer not null,
  source text not null,
  spec jsonb not null,
  active boolean not null default false,
  created_by text,
  created_at timestamptz not null default now(),
  primary key (workspace_id, version)
);
create unique index routing_one_active on routing_versions (workspace_id) where active;

-- Where each team's round robin stands: the user who got its last lead.
create table routing_pointers (
  workspace_id text not null,
  team text not null,
  user_id text not null,
  primary key (workspace_id, team)
);

create table handoffs (
  workspace_id text not null,
  id text not null,
  lead_id text not null,
  -- The MQL transition it answers ('<leadId>:<inputId>:<at>'): one handoff per MQL, however often routed.
  source_key text not null,
  -- 'mql' for a lead's first, 're-mql' after a recycle.
  kind text not null check (kind in ('mql', 're-mql')),
  hand_raiser boolean not null default false,
  mql_at bigint not null,
  status text not null check (status in
    ('pending', 'accepted', 'converted', 'opportunity', 'won', 'lost', 'rejected', 'merged')),
  owner_id text,
  team text not null,
  rule text not null,
  routing jsonb not null,
  routing_version integer,
  assigned_at bigint not null,
  -- The SLA in force and when the owner must act; null when neither rule nor team sets one.
  sla jsonb,
  due_at bigint,
  breaches integer not null default 0,
  last_breach_at bigint,
  -- The owner's first action (accept or reject): what the SLA measures.
  acted_at bigint,
  reason text,
  disposition text check (disposition in ('recycle', 'disqualify')),
  amount numeric,
  currency text,
  closed_at bigint,
  merged_into text,
  updated_at bigint not null,
  primary key (workspace_id, id)
);
create unique index handoffs_by_source on handoffs (workspace_id, source_key);
create index handoffs_by_owner on handoffs (workspace_id, owner_id, status);
create index handoffs_by_lead on handoffs (workspace_id, lead_id);
create index handoffs_by_team_assigned on handoffs (workspace_id, team, assigned_at);
-- At most one open handoff per lead.
create unique index handoffs_one_open on handoffs (workspace_id, lead_id)
  where status in ('pending', 'accepted', 'converted', 'opportunity');

-- Every step of every handoff: assignment, reassignment, breach, each status change.
create table handoff_history (
  workspace_id text not null,
  handoff_id text not null,
  seq bigint generated always as identity,
  at bigint not null,
  action text not null,
  from_status text,
  to_status text,
  owner_id text,
  actor text not null,
  by_user text,
  detail jsonb,
  primary key (workspace_id, handoff_id, seq)
);
`;
