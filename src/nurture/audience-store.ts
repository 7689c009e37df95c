import type { Database, Queryable } from "../db/database.js";
import type { Predicate } from "../engine/evaluate-condition.js";
import { QualifyError } from "../errors.js";
import { holdMembership, type MembershipChange, writeChanges } from "./audience-changes.js";
import { type AudienceSpec, compileAudience, loadAudience } from "./audience-spec.js";
import { eventWindow } from "./lead-view.js";

/**
 * Saved audiences, stored with versions: saving validates the YAML (with line numbers) and makes
 * the new version the active one; deleting deactivates every version and empties the membership
 * (each member leaves, with its message). `activeAudiences` is what membership sync evaluates:
 * compiled once per version.
 */

export interface StoredAudience {
  id: string;
  version: number;
  name: string | null;
  description: string | null;
  public: boolean;
  active: boolean;
  source: string;
  createdAt: string;
  createdBy: string | null;
}

interface Row {
  id: string;
  version: number;
  source: string;
  spec: AudienceSpec;
  public: boolean;
  active: boolean;
  created_at: number | string;
  created_by: string | null;
}

const COLUMNS = "id, version, source, spec, public, active, created_at, created_by";

const toStored = (r: Row): StoredAudience => ({
  id: r.id,
  version: r.version,
  name: r.spec.name ?? null,
  description: r.spec.description ?? null,
  public: r.public,
  active: r.active,
  source: r.source,
  createdAt: new Date(Number(r.created_at)).toISOString(),
  createdBy: r.created_by,
});

const notFound = (id: string) =>
  new QualifyError("NOT_FOUND", `no audience '${id}'`, [{ path: "id", message: "no active audience" }]);

export async function saveAudience(
  db: Database,
  ws: string,
  source: string,
  opts: { by: string | null; now: number },
): Promise<StoredAudience> {
  const spec = loadAudience(source);
  return db.transaction(async (tx) => {
    // Two saves at once would pick the same version: serialize them (audiences change rarely).
    await tx.query("select pg_advisory_xact_lock(hashtext($1), 81030)", [ws]);
    const next = await tx.query<{ v: number }>(
      "select coalesce(max(version), 0) + 1 as v from audiences where workspace_id = $1 and id = $2",
      [ws, spec.id],
    );
    await tx.query("update audiences set active = false where workspace_id = $1 and id = $2 and active", [
      ws,
      spec.id,
    ]);
    const rows = await tx.query<Row>(
      `insert into audiences (workspace_id, id, version, source, spec, public, active, created_by, created_at)
       values ($1, $2, $3, $4, $5, $6, true, $7, $8) returning ${COLUMNS}`,
      [ws, spec.id, Number(next[0]?.v ?? 1), source, JSON.stringify(spec), spec.public, opts.by, opts.now],
    );
    return toStored(rows[0] as Row);
  });
}

export interface AudienceSummary extends Omit<StoredAudience, "source"> {
  members: number;
}

/** The active audiences, by id, with how many leads are in each. */
export async function listAudiences(q: Queryable, ws: string): Promise<AudienceSummary[]> {
  const rows = await q.query<Row & { members: number }>(
    `select ${COLUMNS},
       (select count(*)::int from audience_members m join leads l on l.workspace_id = m.workspace_id and l.id = m.lead_id
        where m.workspace_id = a.workspace_id and m.audience_id = a.id) as members
     from audiences a where workspace_id = $1 and active order by id`,
    [ws],
  );
  return rows.map((r) => {
    const { source: _, ...rest } = toStored(r);
    return { ...rest, members: Number(r.members) };
  });
}

export interface AudienceDetail extends StoredAudience {
  spec: AudienceSpec;
  members: number;
  versions: Omit<StoredAudience, "source" | "id" | "name" | "description">[];
}

/** The active version of an audience with its spec, member count and every version (newest first). */
export async function getAudience(q: Queryable, ws: string, id: string): Promise<AudienceDetail> {
  const rows = await q.query<Row>(
    `select ${COLUMNS} from audiences where workspace_id = $1 and id = $2 order by version desc`,
    [ws, id],
  );
  const active = rows.find((r) => r.active);
  if (!active) throw notFound(id);
  const count = await q.query<{ n: number }>(
    `select count(*)::int as n from audience_members m join leads l on l.workspace_id = m.workspace_id and l.id = m.lead_id
     where m.workspace_id = $1 and m.audience_id = $2`,
    [ws, id],
  );
  return {
    ...toStored(active),
    spec: active.spec,
    members: Number(count[0]?.n ?? 0),
    versions: rows.map((r) => {
      const { source: _s, id: _i, name: _n, description: _d, ...v } = toStored(r);
      return v;
    }),
  };
}

/** Deactivates every version and removes the members; each leaves with an `audience.left` message. */
export async function deleteAudience(
  db: Database,
  ws: string,
  id: string,
  now: number,
): Promise<{ id: string; version: number; left: number }> {
  return db.transaction(async (tx) => {
    await tx.query("select pg_advisory_xact_lock(hashtext($1), 81030)", [ws]);
    await holdMembership(tx, ws, "exclusive");
    const off = await tx.query<{ version: number }>(
      "update audiences set active = false where workspace_id = $1 and id = $2 and active returning version",
      [ws, id],
    );
    const version = off[0]?.version;
    if (version === undefined) throw notFound(id);
    const gone = await tx.query<{ lead_id: string }>(
      "delete from audience_members where workspace_id = $1 and audience_id = $2 returning lead_id",
      [ws, id],
    );
    const ids = gone.map((g) => g.lead_id);
    const leads = await tx.query<{ id: string; user_id: string | null; email: string | null }>(
      "select id, user_id, email from leads where workspace_id = $1 and id = any($2::text[])",
      [ws, ids],
    );
    const byId = new Map(leads.map((l) => [l.id, l]));
    const changes: MembershipChange[] = ids.map((leadId) => ({
      kind: "left",
      audienceId: id,
      audienceVersion: version,
      leadId,
      userId: byId.get(leadId)?.user_id ?? null,
      email: byId.get(leadId)?.email ?? null,
    }));
    await writeChanges(tx, ws, changes, now);
    return { id, version, left: changes.length };
  });
}

export interface ActiveAudience {
  id: string;
  version: number;
  public: boolean;
  predicate: Predicate;
  /** How far back its condition counts recent events (0: it counts none). */
  eventWindow: number;
}

/** Compiled predicates by workspace, id and version, with the source they came from. */
const compiled = new Map<string, { source: string; predicate: Predicate; eventWindow: number }>();

/** The active audiences of the workspace, compiled (one query; compiling happens once per version). */
export async function activeAudiences(q: Queryable, ws: string): Promise<ActiveAudience[]> {
  const rows = await q.query<{ id: string; version: number; public: boolean; source: string }>(
    "select id, version, public, source from audiences where workspace_id = $1 and active order by id",
    [ws],
  );
  return rows.map((r) => {
    const key = `${ws}\n${r.id}@${r.version}`;
    let hit = compiled.get(key);
    // A stored version never changes, but another database (a restore, a test) may hold another.
    if (hit?.source !== r.source) {
      const spec = loadAudience(r.source, `audience ${r.id} v${r.version}`);
      hit = { source: r.source, predicate: compileAudience(spec), eventWindow: eventWindow([spec.when]) };
      if (compiled.size > 1000) compiled.clear();
      compiled.set(key, hit);
    }
    return {
      id: r.id,
      version: r.version,
      public: r.public,
      predicate: hit.predicate,
      eventWindow: hit.eventWindow,
    };
  });
}
