/**
 * The live service: credentials, models, the event log, leads and their identities, accounts,
 * transitions, merges, the outbox and erasure tombstones. Every table is keyed by workspace first.
 * Times the engine reads are epoch milliseconds (bigint); bookkeeping times are timestamptz.
 */
export const sql = `
create table users (
  workspace_id text not null references workspaces (id),
  id text not null,
  email text not null,
  name text,
  role text not null check (role in ('admin', 'marketer', 'sales')),
  teams text[] not null default '{}',
  created_at timestamptz not null default now(),
  primary key (workspace_id, id),
  unique (workspace_id, email)
);

create table api_tokens (
  workspace_id text not null,
  id text not null,
  user_id text not null,
  name text not null,
  token_hash text not null unique,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz,
  primary key (workspace_id, id),
  foreign key (workspace_id, user_id) references users (workspace_id, id) on delete cascade
);

create table write_keys (
  workspace_id text not null references workspaces (id),
  id text not null,
  name text not null,
  key_hash text not null unique,
  created_at timestamptz not null default now(),
  revoked_at timestamptz,
  primary key (workspace_id, id)
);

create table models (
  workspace_id text not null references workspaces (id),
  version integer not null,
  name text not null,
  key text not null,
  source text not null,
  active boolean not null default false,
  created_at timestamptz not null default now(),
  published_at timestamptz,
  published_by text,
  summary jsonb,
  primary key (workspace_id, version)
);
create unique index models_one_active on models (workspace_id) where active;

-- Every input a lead's history holds, in ingest order (seq): Segment calls, account-trait changes
-- that reach other members, and stage facts set through the API. Appended durably before the ack.
create table events (
  workspace_id text not null,
  seq bigint generated always as identity,
  message_id text not null,
  kind text not null check (kind in ('event', 'account', 'fact')),
  type text,
  user_id text,
  anonymous_id text,
  previous_id text,
  lead_id text,
  at bigint not null,
  received_at bigint not null,
  input jsonb not null,
  notify boolean not null default true,
  processed boolean not null default false,
  -- The order the pipeline processed events in: the true ingest order (an insert can take a lower
  -- seq than one committed before it).
  processed_order bigint,
  -- Set when processing the event failed repeatedly and it was set aside.
  error text,
  primary key (workspace_id, seq),
  unique (workspace_id, message_id)
);
create index events_pending on events (workspace_id, seq) where not processed;
create sequence events_processed_order;
create index events_by_lead on events (workspace_id, lead_id, seq);

create table leads (
  workspace_id text not null,
  id text not null,
  user_id text,
  email text,
  email_domain text,
  name text,
  traits jsonb not null default '{}',
  traits_at bigint,
  account_id text,
  account_source text check (account_source in ('group', 'domain')),
  stage text not null default 'visitor',
  scores jsonb not null default '{}',
  grade text,
  scores_as_of bigint,
  mql_at bigint,
  first_mql_at bigint,
  state jsonb,
  model_version integer,
  owner text,
  flags text[] not null default '{}',
  merged_into text,
  first_seen_at bigint not null,
  last_event_at bigint,
  event_count integer not null default 0,
  updated_at timestamptz not null default now(),
  primary key (workspace_id, id)
);
create index leads_by_stage on leads (workspace_id, stage);
create index leads_by_user on leads (workspace_id, user_id);
create index leads_by_email on leads (workspace_id, lower(email));
create index leads_by_mql on leads (workspace_id, mql_at);
create index leads_by_account on leads (workspace_id, account_id);
create index leads_by_domain on leads (workspace_id, email_domain);

create table identities (
  workspace_id text not null,
  kind text not null check (kind in ('user', 'anonymous')),
  value text not null,
  lead_id text not null,
  created_at timestamptz not null default now(),
  primary key (workspace_id, kind, value)
);
create index identities_by_lead on identities (workspace_id, lead_id);

create table accounts (
  workspace_id text not null,
  id text not null,
  domain text,
  traits jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (workspace_id, id)
);
create index accounts_by_domain on accounts (workspace_id, domain);

create table transitions (
  workspace_id text not null,
  seq bigint generated always as identity,
  lead_id text not null,
  from_stage text not null,
  to_stage text not null,
  at bigint not null,
  trigger_at bigint not null,
  input_id text not null,
  actor text not null,
  by_user text,
  rules jsonb not null default '[]',
  reason text not null,
  scores jsonb not null,
  grade text not null,
  model_version integer,
  would_have_qualified_at bigint,
  primary key (workspace_id, seq)
);
create index transitions_by_lead on transitions (workspace_id, lead_id, seq);

create table lead_merges (
  workspace_id text not null,
  seq bigint generated always as identity,
  from_lead text not null,
  into_lead text not null,
  at bigint not null,
  reason text not null,
  primary key (workspace_id, seq)
);

-- Side effects for later stages (handoff, nurture), written in the same transaction as the state.
create table outbox (
  workspace_id text not null,
  seq bigint generated always as identity,
  topic text not null,
  lead_id text,
  payload jsonb not null,
  idempotency_key text not null,
  created_at timestamptz not null default now(),
  delivered_at timestamptz,
  primary key (workspace_id, seq),
  unique (workspace_id, idempotency_key)
);
create index outbox_pending on outbox (workspace_id, seq) where delivered_at is null;

-- Erasure: hashed identifiers, so that retries and late events cannot recreate an erased lead.
create table tombstones (
  workspace_id text not null,
  kind text not null check (kind in ('user', 'anonymous', 'email')),
  hash text not null,
  erased_at timestamptz not null default now(),
  primary key (workspace_id, kind, hash)
);

-- What is left of an erased lead: counts, nothing that identifies anyone.
create table erasures (
  workspace_id text not null,
  seq bigint generated always as identity,
  erased_at timestamptz not null default now(),
  stage text not null,
  was_mql boolean not null,
  events_deleted integer not null,
  transitions_deleted integer not null,
  primary key (workspace_id, seq)
);

create table service_state (
  workspace_id text not null,
  key text not null,
  value jsonb not null,
  primary key (workspace_id, key)
);
`;
