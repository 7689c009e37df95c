import type { Database, Queryable } from "../db/database.js";
import { loadTemplate, type TemplateSpec } from "./template-spec.js";

/**
 * Email templates, stored with versions per template id (1, 2, …); a version never changes. Saving
 * checks the YAML and its Liquid first (TEMPLATE_INVALID with every error's line). Reads hand out one
 * spec object per stored version, so renders reuse its parsed parts.
 */

export interface StoredTemplate {
  id: string;
  version: number;
  spec: TemplateSpec;
  source: string;
  createdAt: string;
  createdBy: string | null;
}

/** A template's latest version, as lists show it. */
export interface TemplateSummary {
  id: string;
  name: string | null;
  subject: string;
  version: number;
  versions: number;
  createdAt: string;
  createdBy: string | null;
}

export interface TemplateVersion {
  version: number;
  subject: string;
  createdAt: string;
  createdBy: string | null;
}

interface Row {
  id: string;
  version: number;
  source: string;
  spec: TemplateSpec;
  created_at: number | string;
  created_by: string | null;
}

const iso = (ms: number | string) => new Date(Number(ms)).toISOString();

/** Specs by workspace, id and version, with the source they came from. */
const specs = new Map<string, { source: string; spec: TemplateSpec }>();
const MAX_CACHED = 5_000;

function toStored(ws: string, r: Row): StoredTemplate {
  const key = `${ws}/${r.id}@${r.version}`;
  let hit = specs.get(key);
  // A stored version never changes, but another database (a restore, a test) may hold another.
  if (hit?.source !== r.source) {
    if (specs.size >= MAX_CACHED) specs.clear();
    hit = { source: r.source, spec: r.spec };
    specs.set(key, hit);
  }
  return {
    id: r.id,
    version: Number(r.version),
    spec: hit.spec,
    source: r.source,
    createdAt: iso(r.created_at),
    createdBy: r.created_by,
  };
}

export async function saveTemplate(
  db: Database,
  ws: string,
  source: string,
  opts: { by: string | null; now: number },
): Promise<StoredTemplate> {
  const spec = loadTemplate(source);
  return db.transaction(async (tx) => {
    // Two saves at once would pick the same number; serialize them per template instead.
    await tx.query("select pg_advisory_xact_lock(hashtext($1), 81020)", [`${ws}/${spec.id}`]);
    const next = await tx.query<{ v: number }>(
      "select coalesce(max(version), 0) + 1 as v from email_templates where workspace_id = $1 and id = $2",
      [ws, spec.id],
    );
    const version = Number(next[0]?.v ?? 1);
    const rows = await tx.query<Row>(
      `insert into email_templates (workspace_id, id, version, source, spec, created_by, created_at)
       values ($1, $2, $3, $4, $5, $6, $7) returning id, version, source, spec, created_at, created_by`,
      [ws, spec.id, version, source, JSON.stringify(spec), opts.by, opts.now],
    );
    return toStored(ws, rows[0] as Row);
  });
}

/** A template's version, or its latest when no version is given; null when there is none. */
export async function getTemplate(
  q: Queryable,
  ws: string,
  id: string,
  version?: number,
): Promise<StoredTemplate | null> {
  const rows = await q.query<Row>(
    `select id, version, source, spec, created_at, created_by from email_templates
     where workspace_id = $1 and id = $2 and ($3::integer is null or version = $3)
     order by version desc limit 1`,
    [ws, id, version ?? null],
  );
  const row = rows[0];
  return row ? toStored(ws, row) : null;
}

/** Every template's latest version with its number of versions, by id. */
export async function listTemplates(q: Queryable, ws: string): Promise<TemplateSummary[]> {
  const rows = await q.query<Row & { versions: number }>(
    `select t.id, t.version, t.source, t.spec, t.created_at, t.created_by, c.versions
     from email_templates t
     join (select id, max(version) as latest, count(*)::integer as versions from email_templates
           where workspace_id = $1 group by id) c on c.id = t.id and c.latest = t.version
     where t.workspace_id = $1 order by t.id`,
    [ws],
  );
  return rows.map((r) => ({
    id: r.id,
    name: r.spec.name ?? null,
    subject: r.spec.subject,
    version: Number(r.version),
    versions: Number(r.versions),
    createdAt: iso(r.created_at),
    createdBy: r.created_by,
  }));
}

/** A template's versions, newest first (empty when the template does not exist). */
export async function templateVersions(q: Queryable, ws: string, id: string): Promise<TemplateVersion[]> {
  const rows = await q.query<{
    version: number;
    subject: string;
    created_at: number | string;
    created_by: string | null;
  }>(
    `select version, spec->>'subject' as subject, created_at, created_by from email_templates
     where workspace_id = $1 and id = $2 order by version desc`,
    [ws, id],
  );
  return rows.map((r) => ({
    version: Number(r.version),
    subject: r.subject,
    createdAt: iso(r.created_at),
    createdBy: r.created_by,
  }));
}
