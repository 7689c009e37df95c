import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Queryable } from "../db/database.js";
import { QualifyError } from "../errors.js";

/**
 * Users, API tokens and write keys. Tokens and keys are random, shown once, and stored only as
 * SHA-256 hashes. A write key can only send events; a token acts as its user, with the user's role.
 */
export const ROLES = ["admin", "marketer", "sales"] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  id: string;
  workspaceId: string;
  email: string;
  name: string | null;
  role: Role;
  teams: string[];
}

export const hashSecret = (secret: string) => createHash("sha256").update(secret).digest("hex");
export const newToken = () => `qlf_${randomBytes(24).toString("base64url")}`;
export const newWriteKey = () => `wk_${randomBytes(18).toString("base64url")}`;

export interface UserRow {
  id: string;
  workspace_id: string;
  email: string;
  name: string | null;
  role: Role;
  teams: string[];
}

export const toUser = (r: UserRow): User => ({
  id: r.id,
  workspaceId: r.workspace_id,
  email: r.email,
  name: r.name,
  role: r.role,
  teams: r.teams,
});

export async function createUser(
  db: Queryable,
  ws: string,
  u: { email: string; role: Role; teams?: string[]; name?: string | null },
): Promise<User> {
  const rows = await db.query<UserRow>(
    `insert into users (workspace_id, id, email, name, role, teams) values ($1, $2, $3, $4, $5, $6)
     on conflict (workspace_id, email) do nothing returning *`,
    [ws, randomUUID(), u.email.trim().toLowerCase(), u.name ?? null, u.role, u.teams ?? []],
  );
  const row = rows[0];
  if (!row)
    throw new QualifyError("CONFLICT", `a user with email ${u.email} already exists`, [
      { path: "email", message: "already taken" },
    ]);
  return toUser(row);
}

export async function listUsers(db: Queryable, ws: string): Promise<User[]> {
  return (await db.query<UserRow>("select * from users where workspace_id = $1 order by email", [ws])).map(
    toUser,
  );
}

export async function findUser(db: Queryable, ws: string, idOrEmail: string): Promise<User> {
  const rows = await db.query<UserRow>(
    "select * from users where workspace_id = $1 and (id = $2 or email = lower($2))",
    [ws, idOrEmail],
  );
  const row = rows[0];
  if (!row)
    throw new QualifyError("NOT_FOUND", `no user ${idOrEmail}`, [{ path: "user", message: "no such user" }]);
  return toUser(row);
}

/** Makes a token for the user; the token itself is returned only here. */
export async function createToken(
  db: Queryable,
  ws: string,
  userId: string,
  name: string,
  token = newToken(),
): Promise<{ id: string; token: string }> {
  const id = randomUUID();
  await db.query(
    "insert into api_tokens (workspace_id, id, user_id, name, token_hash) values ($1, $2, $3, $4, $5)",
    [ws, id, userId, name, hashSecret(token)],
  );
  return { id, token };
}

export async function createWriteKey(
  db: Queryable,
  ws: string,
  name: string,
  key = newWriteKey(),
): Promise<{ id: string; key: string }> {
  const id = randomUUID();
  await db.query("insert into write_keys (workspace_id, id, name, key_hash) values ($1, $2, $3, $4)", [
    ws,
    id,
    name,
    hashSecret(key),
  ]);
  return { id, key };
}

export async function userForToken(db: Queryable, token: string): Promise<User | null> {
  const rows = await db.query<UserRow>(
    `select u.* from api_tokens t join users u on u.workspace_id = t.workspace_id and u.id = t.user_id
     where t.token_hash = $1 and t.revoked_at is null`,
    [hashSecret(token)],
  );
  const row = rows[0];
  return row ? toUser(row) : null;
}

export async function workspaceForWriteKey(db: Queryable, key: string): Promise<string | null> {
  const rows = await db.query<{ workspace_id: string }>(
    "select workspace_id from write_keys where key_hash = $1 and revoked_at is null",
    [hashSecret(key)],
  );
  return rows[0]?.workspace_id ?? null;
}
