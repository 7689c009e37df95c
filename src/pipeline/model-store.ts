import type { Queryable } from "../db/database.js";
import { type CompiledModel, compileModel, loadModel } from "../engine/index.js";
import { QualifyError } from "../errors.js";

/**
 * Stored model versions. A stored version compiles to a model whose key is `name@vN`, so a lead's
 * state names the stored version that built it, whatever `version:` the YAML says.
 */
export interface StoredModel {
  version: number;
  name: string;
  key: string;
  source: string;
  active: boolean;
  createdAt: string;
  publishedAt: string | null;
  publishedBy: string | null;
  summary: unknown;
}

export interface ActiveModel {
  version: number;
  model: CompiledModel;
}

interface ModelRow {
  version: number;
  name: string;
  key: string;
  source: string;
  active: boolean;
  created_at: Date | string;
  published_at: Date | string | null;
  published_by: string | null;
  summary: unknown;
}

const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());

const toStored = (r: ModelRow): StoredModel => ({
  version: r.version,
  name: r.name,
  key: r.key,
  source: r.source,
  active: r.active,
  createdAt: iso(r.created_at) as string,
  publishedAt: iso(r.published_at),
  publishedBy: r.published_by,
  summary: r.summary,
});

export function compileStored(source: string, version: number, file = `model v${version}`): CompiledModel {
  const m = compileModel(loadModel(source, file));
  m.key = `${m.spec.name}@v${version}`;
  return m;
}

/** Validates and stores a new, inactive version; returns it. */
export async function addModel(db: Queryable, ws: string, source: string): Promise<StoredModel> {
  const next = await db.query<{ v: number }>(
    "select coalesce(max(version), 0) + 1 as v from models where workspace_id = $1",
    [ws],
  );
  const version = next[0]?.v ?? 1;
  const m = compileStored(source, version, "model");
  const rows = await db.query<ModelRow>(
    `insert into models (workspace_id, version, name, key, source) values ($1, $2, $3, $4, $5)
     returning *`,
    [ws, version, m.spec.name, m.key, source],
  );
  return toStored(rows[0] as ModelRow);
}

export async function listModels(db: Queryable, ws: string): Promise<StoredModel[]> {
  const rows = await db.query<ModelRow>("select * from models where workspace_id = $1 order by version", [
    ws,
  ]);
  return rows.map(toStored);
}

export async function getModel(db: Queryable, ws: string, version: number): Promise<StoredModel> {
  const rows = await db.query<ModelRow>("select * from models where workspace_id = $1 and version = $2", [
    ws,
    version,
  ]);
  const row = rows[0];
  if (!row) throw new QualifyError("NOT_FOUND", `model version ${version} does not exist`);
  return toStored(row);
}

export async function activeModel(db: Queryable, ws: string): Promise<ActiveModel> {
  const rows = await db.query<ModelRow>("select * from models where workspace_id = $1 and active", [ws]);
  const row = rows[0];
  if (!row) throw new QualifyError("NOT_READY", `workspace ${ws} has no active model`);
  return { version: row.version, model: compileStored(row.source, row.version) };
}

export async function activateModel(
  db: Queryable,
  ws: string,
  version: number,
  by: string,
  summary: unknown,
): Promise<void> {
  await db.query("update models set active = false where workspace_id = $1 and active", [ws]);
  await db.query(
    `update models set active = true, published_at = now(), published_by = $3, summary = $4
     where workspace_id = $1 and version = $2`,
    [ws, version, by, JSON.stringify(summary)],
  );
}
