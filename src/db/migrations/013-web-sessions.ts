/**
 * The dashboard's login (src/web/): a password per user (scrypt, `password.ts`), sessions held
 * by an HTTP-only cookie (only the cookie's SHA-256 hash is stored) with the CSRF token that
 * state-changing requests must echo, and failed logins, counted to slow down guessing.
 */
export const sql = `
alter table users add column password_hash text;

create table web_sessions (
  id_hash text primary key,
  workspace_id text not null,
  user_id text not null,
  csrf_token text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  foreign key (workspace_id, user_id) references users (workspace_id, id) on delete cascade
);
create index web_sessions_by_expiry on web_sessions (expires_at);

-- One row per failed login, by the email tried and by the client address.
create table login_failures (
  key text not null,
  at timestamptz not null default now()
);
create index login_failures_by_key on login_failures (key, at);
`;
