/**
 * Webhook and email notifications (`src/handoff/webhooks/`): subscriptions, and one delivery per
 * outbox message and matching subscription, with its retries. Times are epoch milliseconds from
 * the service clock.
 */
export const sql = `
create table webhook_subscriptions (
  workspace_id text not null,
  id text not null,
  name text,
  -- 'webhook' posts to url; 'email' mails the lead's owner (or the fixed addresses in email_to).
  kind text not null default 'webhook' check (kind in ('webhook', 'email')),
  url text,
  email_to text[],
  events text[] not null,
  -- 'json': the versioned payload; 'slack': a Slack-compatible {text, blocks} message.
  format text not null default 'json' check (format in ('json', 'slack')),
  -- Signs every request (HMAC-SHA256); needed in clear to sign, shown to the user once.
  secret text not null,
  -- lead.score_changed: the smallest change that notifies, of score_group (null: any group).
  min_score_delta numeric,
  score_group text,
  active boolean not null default true,
  -- Why it was switched off: by a user, or by the receiver (410 Gone).
  disabled_reason text,
  created_by text,
  created_at bigint not null,
  updated_at bigint not null,
  primary key (workspace_id, id),
  check (kind <> 'webhook' or url is not null)
);

create table webhook_deliveries (
  workspace_id text not null,
  id bigint generated always as identity,
  subscription_id text not null,
  -- The outbox message it delivers: at most one delivery per message and subscription.
  outbox_seq bigint,
  -- The payload's id (the outbox idempotency key, hashed): the same on every retry.
  event_id text not null,
  topic text not null,
  lead_id text,
  -- The exact bytes sent, fixed at fan-out, so every attempt sends the same body.
  body text not null,
  -- email: the address it goes to, fixed at fan-out.
  recipient text,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'dead')),
  attempts integer not null default 0,
  created_at bigint not null,
  -- Retries go on until window_start + the retry window (24 h); a manual retry restarts it.
  window_start bigint not null,
  -- Due time; while an attempt is in flight, when its lease ends (a dead sender's claim is retaken).
  next_attempt_at bigint not null,
  lease text,
  last_attempt_at bigint,
  last_status integer,
  last_error text,
  last_duration_ms integer,
  delivered_at bigint,
  primary key (workspace_id, id),
  foreign key (workspace_id, subscription_id) references webhook_subscriptions (workspace_id, id)
    on delete cascade
);
create unique index webhook_deliveries_once on webhook_deliveries (workspace_id, subscription_id, outbox_seq)
  where outbox_seq is not null;
-- What senders claim: due deliveries, per subscription.
create index webhook_deliveries_due on webhook_deliveries (workspace_id, subscription_id, next_attempt_at, id)
  where status = 'pending';
create index webhook_deliveries_recent on webhook_deliveries (workspace_id, subscription_id, id);
create index webhook_deliveries_by_status on webhook_deliveries (workspace_id, status, id);
create index webhook_deliveries_by_lead on webhook_deliveries (workspace_id, lead_id);
create index webhook_deliveries_finished on webhook_deliveries (delivered_at) where status = 'delivered';
`;
