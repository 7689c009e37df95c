import type { Database, Queryable } from "../db/database.js";
import { QualifyError } from "../errors.js";
import { compileRouting, loadRouting, type Routing } from "./routing-spec.js";

/**
 * Routing documents, stored with versions; one is active. Saving validates the YAML (with line
 * numbers) and, unless told otherwise, activates the new version in the same transaction.
 */

export interface StoredRouting {
  version: number;
  source: string;
  active: boolean;
  createdAt: string;
  createdBy: string | null;
}

interface Row {
  version: number;
  source: string;
  active: boolean;
  created_at: Date | string;
  created_by: string | null;
}

const toStored = (r: Row): StoredRouting => ({
  version: r.version,
  source: r.source,
  active: r.active,
  createdAt: new Date(r.created_at).toISOString(),
  createdBy: r.created_by,
});

export async function saveRouting(
  db: Database,
  ws: string,
  source: string,
  opts: { activate: boolean; by: string | null },
): Promise<StoredRouting> {
  const spec = loadRouting(source);
  return db.transaction(async (tx) => {
    // Two saves at once would pick the same number; the primary key makes the loser fail, so
    // serialize instead (a plain lock: routing changes are rare).
    await tx.query("select pg_advisory_xact_lock(hashtext($1), 81010)", [ws]);
    const next = await tx.query<{ v: number }>(
      "select coalesce(max(version), 0) + 1 as v from routing_versions where workspace_id = $1",
      [ws],
    );
    const version = Number(next[0]?.v ?? 1);
    if (opts.activate)
      await tx.query("update routing_versions set active = false where workspace_id = $1 and active", [ws]);
    const rows = await tx.query<Row>(
      `insert into routing_versions (workspace_id, version, source, spec, active, created_by)
       values ($1, $2, $3, $4, $5, $6) returning version, source, active, created_at, created_by`,
      [ws, version, source, JSON.stringify(spec), opts.activate, opts.by],
    );
    return toStored(rows[0] as Row);
  });
}

export async function activateRouting(db: Database, ws: string, version: number): Promise<StoredRouting> {
  return db.transaction(async (tx) => {
    const found = await tx.query<Row>(
      "select version from routing_versions where workspace_id = $1 and version = $2",
      [ws, version],
    );
    if (found.length === 0) throw new QualifyError("NOT_FOUND", `no routing version ${version}`);
    await tx.query("update routing_versions set active = false where workspace_id = $1 and active", [ws]);
    const rows = await tx.query<Row>(
      `update routing_versions set active = true where workspace_id = $1 and version = $2
       returning version, source, active, created_at, created_by`,
      [ws, version],
    );
    return toStored(rows[0] as Row);
  });
}

export async function listRoutings(db: Queryable, ws: string): Promise<StoredRouting[]> {
  const rows = await db.query<Row>(
    `select version, source, active, created_at, created_by from routing_versions
     where workspace_id = $1 order by version desc`,
    [ws],
  );
  return rows.map(toStored);
}

export interface ActiveRouting {
  version: number;
  routing: Routing;
}

/** Compiled routings by workspace and version, with the source they came from. */
const compiled = new Map<string, { source: string; routing: Routing }>();

/** The active routing, or null when none has been saved (MQLs then wait in no queue: see docs). */
export async function activeRouting(db: Queryable, ws: string): Promise<ActiveRouting | null> {
  const rows = await db.query<{ version: number; source: string }>(
    "select version, source from routing_versions where workspace_id = $1 and active",
    [ws],
  );
  const row = rows[0];
  if (!row) return null;
  const key = `${ws}@${row.version}`;
  let hit = compiled.get(key);
  // A stored version never changes, but another database (a restore, a test) may hold another.
  if (hit?.source !== row.source) {
    hit = { source: row.source, routing: compileRouting(loadRouting(row.source, `routing v${row.version}`)) };
    compiled.set(key, hit);
  }
  return { version: row.version, routing: hit.routing };
}
