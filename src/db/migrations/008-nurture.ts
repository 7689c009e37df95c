/**
 * Nurture (`src/nurture/`): email templates and sequences with versions, enrollments, email
 * attempts (at most once per step), suppressions, consent changes, audiences and their members,
 * publishable keys for the personalisation endpoint. Times the service reads are epoch
 * milliseconds from the service clock.
 */
export const sql = `
create table email_templates (
  workspace_id text not null,
  id text not null,
  version integer not null,
  source text not null,
  spec jsonb not null,
  created_by text,
  created_at bigint not null,
  primary key (workspace_id, id, version)
);

create table sequences (
  workspace_id text not null,
  id text not null,
  version integer not null,
  source text not null,
  spec jsonb not null,
  -- The version that runs; at most one per sequence. None: the sequence is paused.
  active boolean not null default false,
  -- When this version became active, and how far transitions and processed events had got then:
  -- entry by stage or event counts only what happened since.
  activated_at bigint,
  activated_transition_seq bigint,
  activated_event_order bigint,
  created_by text,
  created_at bigint not null,
  primary key (workspace_id, id, version)
);
create unique index sequences_one_active on sequences (workspace_id, id) where active;

-- Per lead: how far nurture has read its events and transitions, and its email standing.
create table nurture_leads (
  workspace_id text not null,
  lead_id text not null,
  event_order bigint not null default 0,
  transition_seq bigint not null default 0,
  -- Email consent: true granted, false withdrawn, null never stated (the workspace default applies).
  consent boolean,
  consent_source text,
  consent_at bigint,
  do_not_email boolean not null default false,
  -- The latest context.timezone seen.
  time_zone text,
  updated_at bigint not null,
  primary key (workspace_id, lead_id)
);

-- Every change of a lead's email consent, with where it came from.
create table consent_changes (
  workspace_id text not null,
  seq bigint generated always as identity,
  lead_id text not null,
  email text,
  granted boolean not null,
  -- 'trait', 'context' (Segment consent categoryPreferences), 'unsubscribe', 'api'.
  source text not null,
  input_id text,
  at bigint not null,
  primary key (workspace_id, seq)
);
create index consent_changes_by_lead on consent_changes (workspace_id, lead_id, seq);

create table enrollments (
  workspace_id text not null,
  id text not null,
  lead_id text not null,
  sequence_id text not null,
  sequence_version integer not null,
  status text not null check (status in ('active', 'completed', 'exited')),
  -- The step it is at (index into the version's steps) and since when.
  step_index integer not null default 0,
  step_id text,
  step_started_at bigint not null,
  next_run_at bigint,
  -- waitFor: the matching event's time once it came.
  event_seen_at bigint,
  -- Each step taken: {step, kind, at, outcome}.
  history jsonb not null default '[]',
  entered_at bigint not null,
  entry_reason text not null,
  exited_at bigint,
  exit_reason text,
  updated_at bigint not null,
  primary key (workspace_id, id)
);
create unique index enrollments_one_active on enrollments (workspace_id, lead_id, sequence_id)
  where status = 'active';
create index enrollments_by_lead on enrollments (workspace_id, lead_id);
create index enrollments_by_sequence on enrollments (workspace_id, sequence_id, status, step_id);

-- One row per marketing email: committed before the SMTP transaction (at most once per step).
create table email_attempts (
  workspace_id text not null,
  id text not null,
  enrollment_id text not null,
  lead_id text not null,
  sequence_id text not null,
  step_id text not null,
  template_id text not null,
  template_version integer not null,
  to_address text not null,
  message_id text not null,
  subject text not null,
  html text not null,
  text_body text not null,
  links integer not null default 0,
  -- queued → sending → sent | bounced | failed | unknown (a crash mid-send: never resent) | suppressed
  status text not null check (status in ('queued', 'sending', 'sent', 'bounced', 'failed', 'unknown', 'suppressed')),
  attempts integer not null default 0,
  next_attempt_at bigint not null,
  lease_until bigint,
  last_error text,
  smtp_response text,
  created_at bigint not null,
  sent_at bigint,
  primary key (workspace_id, id),
  unique (workspace_id, enrollment_id, step_id)
);
create unique index email_attempts_id on email_attempts (id);
create index email_attempts_due on email_attempts (next_attempt_at) where status = 'queued';
create index email_attempts_sending on email_attempts (lease_until) where status = 'sending';
create index email_attempts_by_lead on email_attempts (workspace_id, lead_id, created_at);
create index email_attempts_by_status on email_attempts (workspace_id, status);

-- Clicks on tracked links, for bot detection (every link at once) and reporting.
create table email_clicks (
  workspace_id text not null,
  attempt_id text not null,
  url text not null,
  at bigint not null,
  suspected_bot boolean not null
);
create index email_clicks_by_attempt on email_clicks (attempt_id, at);

-- Addresses no marketing email goes to: every send checks this.
create table email_suppressions (
  workspace_id text not null,
  email text not null,
  reason text not null check (reason in ('unsubscribed', 'bounced', 'complaint', 'manual')),
  detail text,
  lead_id text,
  at bigint not null,
  primary key (workspace_id, email)
);

create table audiences (
  workspace_id text not null,
  id text not null,
  version integer not null,
  source text not null,
  spec jsonb not null,
  public boolean not null default false,
  active boolean not null default false,
  created_by text,
  created_at bigint not null,
  primary key (workspace_id, id, version)
);
create unique index audiences_one_active on audiences (workspace_id, id) where active;

create table audience_members (
  workspace_id text not null,
  audience_id text not null,
  lead_id text not null,
  joined_at bigint not null,
  primary key (workspace_id, audience_id, lead_id)
);
create index audience_members_by_lead on audience_members (workspace_id, lead_id);

-- Keys a website may embed: they read the personalisation endpoint only, from allowed origins.
create table publishable_keys (
  workspace_id text not null,
  id text not null,
  key text not null unique,
  name text,
  origins text[] not null,
  created_at bigint not null,
  revoked_at bigint,
  primary key (workspace_id, id)
);
`;
