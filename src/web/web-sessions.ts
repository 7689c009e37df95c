import { randomBytes } from "node:crypto";
import { hashSecret, toUser, type User, type UserRow } from "../api/credentials.js";
import type { Queryable } from "../db/database.js";
import { QualifyError } from "../errors.js";
import { verifyPassword } from "./password.js";

/**
 * The dashboard's sessions (docs/dashboard.md): a login checks the password and opens a session; the
 * browser holds its random id in an HTTP-only cookie, the database only the id's hash. Each session
 * has a CSRF token that every state-changing request made with the cookie must send back in the
 * `X-CSRF-Token` header. Failed logins are counted per email and per client address over
 * `LOGIN_WINDOW_MINUTES`; past the limits, logins are refused with RATE_LIMITED until the window
 * moves on, right password or not.
 */
export const SESSION_COOKIE = "qualify_session";
export const CSRF_HEADER = "x-csrf-token";
export const LOGIN_WINDOW_MINUTES = 15;
export const FAILURES_PER_EMAIL = 5;
export const FAILURES_PER_ADDRESS = 50;

export interface Session {
  user: User;
  csrfToken: string;
  expiresAt: string;
}

type PasswordRow = UserRow & { password_hash: string | null };

async function failures(db: Queryable, key: string): Promise<number> {
  const rows = await db.query<{ n: number }>(
    `select count(*)::int as n from login_failures
     where key = $1 and at > now() - make_interval(mins => $2)`,
    [key, LOGIN_WINDOW_MINUTES],
  );
  return rows[0]?.n ?? 0;
}

/**
 * Checks an email and password, within the failure limits; opens a session for `hours`. Returns the
 * session's id (for the cookie only) and the session.
 */
export async function logIn(
  db: Queryable,
  login: { email: string; password: string; address: string },
  hours: number,
): Promise<{ id: string; session: Session }> {
  const email = login.email.trim().toLowerCase();
  const keys = [`email:${email}`, `address:${login.address}`];
  if (
    (await failures(db, keys[0] as string)) >= FAILURES_PER_EMAIL ||
    (await failures(db, keys[1] as string)) >= FAILURES_PER_ADDRESS
  )
    throw new QualifyError(
      "RATE_LIMITED",
      `too many failed logins; try again in ${LOGIN_WINDOW_MINUTES} minutes`,
      [{ path: "email", message: "too many failed attempts" }],
    );
  const users = await db.query<PasswordRow>(
    "select * from users where email = $1 and password_hash is not null order by workspace_id",
    [email],
  );
  let user: User | null = null;
  for (const u of users)
    if (await verifyPassword(login.password, u.password_hash as string)) {
      user = toUser(u);
      break;
    }
  if (!user) {
    await db.query("insert into login_failures (key) values ($1), ($2)", keys);
    throw new QualifyError("UNAUTHORIZED", "wrong email or password", [
      { path: "password", message: "does not match the email" },
    ]);
  }
  // Old failures and expired sessions go as people log in.
  await db.query("delete from login_failures where key = $1 or at < now() - make_interval(mins => $2)", [
    keys[0],
    LOGIN_WINDOW_MINUTES,
  ]);
  await db.query("delete from web_sessions where expires_at < now()");
  const id = randomBytes(32).toString("base64url");
  const csrfToken = randomBytes(24).toString("base64url");
  const rows = await db.query<{ expires_at: Date | string }>(
    `insert into web_sessions (id_hash, workspace_id, user_id, csrf_token, expires_at)
     values ($1, $2, $3, $4, now() + make_interval(hours => $5)) returning expires_at`,
    [hashSecret(id), user.workspaceId, user.id, csrfToken, hours],
  );
  return { id, session: { user, csrfToken, expiresAt: new Date(rows[0]?.expires_at ?? 0).toISOString() } };
}

/** The session a cookie's id opens, if it exists and has not expired. */
export async function sessionFor(db: Queryable, id: string): Promise<Session | null> {
  const rows = await db.query<PasswordRow & { csrf_token: string; expires_at: Date | string }>(
    `select u.*, s.csrf_token, s.expires_at from web_sessions s
     join users u on u.workspace_id = s.workspace_id and u.id = s.user_id
     where s.id_hash = $1 and s.expires_at > now()`,
    [hashSecret(id)],
  );
  const r = rows[0];
  return r
    ? { user: toUser(r), csrfToken: r.csrf_token, expiresAt: new Date(r.expires_at).toISOString() }
    : null;
}

export async function logOut(db: Queryable, id: string): Promise<void> {
  await db.query("delete from web_sessions where id_hash = $1", [hashSecret(id)]);
}

/** Sets (or, with null, removes) a user's password; ends the user's sessions either way. */
export async function setPassword(db: Queryable, user: User, hash: string | null): Promise<void> {
  await db.query("update users set password_hash = $3 where workspace_id = $1 and id = $2", [
    user.workspaceId,
    user.id,
    hash,
  ]);
  await db.query("delete from web_sessions where workspace_id = $1 and user_id = $2", [
    user.workspaceId,
    user.id,
  ]);
}
