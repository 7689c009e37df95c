import { randomBytes } from "node:crypto";
import type { Queryable } from "../db/database.js";
import { QualifyError } from "../errors.js";

/**
 * Publishable keys: what a website embeds to call the personalisation endpoint. A key reads that
 * endpoint only, and only from the exact origins on its allow-list. It is not a secret (it sits in
 * the page), so listing shows it; revoking it is immediate.
 */

export interface PublishableKey {
  id: string;
  key: string;
  name: string | null;
  origins: string[];
  createdAt: string;
  revokedAt: string | null;
}

interface Row {
  workspace_id: string;
  id: string;
  key: string;
  name: string | null;
  origins: string[];
  created_at: number | string;
  revoked_at: number | string | null;
}

const toKey = (r: Row): PublishableKey => ({
  id: r.id,
  key: r.key,
  name: r.name,
  origins: r.origins,
  createdAt: new Date(Number(r.created_at)).toISOString(),
  revokedAt: r.revoked_at === null ? null : new Date(Number(r.revoked_at)).toISOString(),
});

const invalid = (path: string, message: string) =>
  new QualifyError("INPUT_INVALID", `${path}: ${message}`, [{ path, message }]);

/**
 * An origin exactly as a browser sends it: `https://www.acme.example` or `http://localhost:8080`;
 * no path, query, user or wildcard. Returned in its canonical form (lower-case host, no default port).
 */
export function parseOrigin(text: string, path = "origin"): string {
  if (text.includes("*")) throw invalid(path, `wildcards are not allowed; list each origin, got '${text}'`);
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw invalid(path, `not an origin such as https://www.example.com: '${text}'`);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:")
    throw invalid(path, `expected an http(s) origin, got ${u.protocol}`);
  if (u.username || u.password || /[?#]/.test(text) || u.pathname !== "/")
    throw invalid(path, `an origin is scheme://host[:port] only, without a path or query: '${text}'`);
  return u.origin;
}

const COLUMNS = "workspace_id, id, key, name, origins, created_at, revoked_at";

export async function createPublishableKey(
  q: Queryable,
  ws: string,
  input: { name?: string | null | undefined; origins: readonly string[] },
  now: number,
): Promise<PublishableKey> {
  if (input.origins.length === 0)
    throw invalid("origins", "list at least one origin the key may be used from");
  const origins = [...new Set(input.origins.map((o, i) => parseOrigin(o, `origins[${i}]`)))];
  const rows = await q.query<Row>(
    `insert into publishable_keys (workspace_id, id, key, name, origins, created_at)
     values ($1, $2, $3, $4, $5, $6) returning ${COLUMNS}`,
    [
      ws,
      `pkid_${randomBytes(9).toString("base64url")}`,
      `pk_${randomBytes(24).toString("base64url")}`,
      input.name ?? null,
      origins,
      now,
    ],
  );
  return toKey(rows[0] as Row);
}

export async function listPublishableKeys(q: Queryable, ws: string): Promise<PublishableKey[]> {
  const rows = await q.query<Row>(
    `select ${COLUMNS} from publishable_keys where workspace_id = $1 order by created_at, id`,
    [ws],
  );
  return rows.map(toKey);
}

export async function revokePublishableKey(
  q: Queryable,
  ws: string,
  id: string,
  now: number,
): Promise<PublishableKey> {
  const rows = await q.query<Row>(
    `update publishable_keys set revoked_at = coalesce(revoked_at, $3)
     where workspace_id = $1 and id = $2 returning ${COLUMNS}`,
    [ws, id, now],
  );
  const row = rows[0];
  if (!row)
    throw new QualifyError("NOT_FOUND", `no publishable key ${id}`, [{ path: "id", message: "not found" }]);
  return toKey(row);
}

/** The key's workspace and allowed origins, or null when it is unknown or revoked. */
export async function findPublishableKey(
  q: Queryable,
  key: string,
): Promise<{ workspaceId: string; origins: string[] } | null> {
  const rows = await q.query<Row>(
    `select ${COLUMNS} from publishable_keys where key = $1 and revoked_at is null`,
    [key],
  );
  const row = rows[0];
  return row ? { workspaceId: row.workspace_id, origins: row.origins } : null;
}
