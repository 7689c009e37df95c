/**
 * The durable scheduler (`src/scheduler/`): one table of timed jobs (SLA timers, webhook retries,
 * nurture steps), claimed `for update skip locked` with a lease. Due times and leases are epoch
 * milliseconds from the service clock, never the database's `now()`.
 */
export const sql = `
create table jobs (
  workspace_id text not null,
  id bigint generated always as identity,
  kind text not null,
  -- Names the job within its kind ('sla:<handoffId>'): scheduling the same key again moves the one job.
  key text,
  run_at bigint not null,
  payload jsonb not null default 'null',
  state text not null default 'scheduled'
    check (state in ('scheduled', 'running', 'done', 'failed', 'cancelled')),
  -- Claims so far, this one included; at max_attempts a failure is final ('failed').
  attempts integer not null default 0,
  max_attempts integer not null default 10 check (max_attempts >= 1),
  last_error text,
  -- While running: the claim's token and when its lease ends (a runner that died is taken over then).
  lease text,
  locked_until bigint,
  created_at timestamptz not null default now(),
  finished_at timestamptz,
  primary key (workspace_id, id)
);
create unique index jobs_by_key on jobs (workspace_id, kind, key) where key is not null;
-- What runners poll: jobs waiting for their time, and claims whose lease ran out.
create index jobs_due on jobs (run_at) where state = 'scheduled';
create index jobs_leased on jobs (locked_until) where state = 'running';
-- Pruning finished jobs.
create index jobs_finished on jobs (finished_at) where state in ('done', 'cancelled');
`;
