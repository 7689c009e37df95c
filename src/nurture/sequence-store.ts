import type { Database, Queryable } from "../db/database.js";
import { compileCondition, type Predicate } from "../engine/evaluate-condition.js";
import { QualifyError } from "../errors.js";
import { eventWindow } from "./lead-view.js";
import { loadSettings, requirePostalAddress } from "./nurture-settings.js";
import { loadSequence, type SequenceSpec } from "./sequence-spec.js";

/**
 * Sequences, stored with versions; at most one version of each runs (is active). Saving checks
 * the YAML (with lines) and that every template it sends exists, and activates the new version
 * unless told otherwise. An enrollment keeps the version it entered with.
 */

export interface StoredSequence {
  id: string;
  version: number;
  active: boolean;
  activatedAt: string | null;
  createdAt: string;
  createdBy: string | null;
  source: string;
  /** The source as parsed: name, description, entry, exit and steps (waits in milliseconds). */
  spec: SequenceSpec;
}

interface Row {
  id: string;
  version: number;
  active: boolean;
  activated_at: number | null;
  created_at: number;
  created_by: string | null;
  source: string;
  spec: SequenceSpec;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());
const toStored = (r: Row): StoredSequence => ({
  id: r.id,
  version: r.version,
  active: r.active,
  activatedAt: iso(r.activated_at),
  createdAt: iso(r.created_at) as string,
  createdBy: r.created_by,
  source: r.source,
  spec: r.spec,
});
const COLUMNS = "id, version, active, activated_at, created_at, created_by, source, spec";

async function templateIds(q: Queryable, ws: string): Promise<Set<string>> {
  const rows = await q.query<{ id: string }>(
    "select distinct id from email_templates where workspace_id = $1",
    [ws],
  );
  return new Set(rows.map((r) => r.id));
}

/** How far transitions and processed events have got: entry counts only what comes after. */
async function activationMarks(tx: Queryable, ws: string): Promise<[number, number]> {
  const rows = await tx.query<{ t: number; e: number }>(
    `select (select coalesce(max(seq), 0) from transitions where workspace_id = $1) as t,
       (select last_value from events_processed_order) as e`,
    [ws],
  );
  return [Number(rows[0]?.t ?? 0), Number(rows[0]?.e ?? 0)];
}

/** Checks a sequence against the stored templates without saving it. */
export async function checkSequence(q: Queryable, ws: string, source: string): Promise<SequenceSpec> {
  return loadSequence(source, "sequence", await templateIds(q, ws));
}

export async function saveSequence(
  db: Database,
  ws: string,
  source: string,
  o: { activate: boolean; by: string | null; now: number },
): Promise<StoredSequence> {
  return db.transaction(async (tx) => {
    const spec = loadSequence(source, "sequence", await templateIds(tx, ws));
    if (o.activate) requirePostalAddress(await loadSettings(tx, ws));
    await tx.query("select pg_advisory_xact_lock(hashtext($1), 81040)", [ws]);
    const next = await tx.query<{ v: number }>(
      "select coalesce(max(version), 0) + 1 as v from sequences where workspace_id = $1 and id = $2",
      [ws, spec.id],
    );
    const version = Number(next[0]?.v ?? 1);
    if (o.activate)
      await tx.query("update sequences set active = false where workspace_id = $1 and id = $2 and active", [
        ws,
        spec.id,
      ]);
    const [t, e] = o.activate ? await activationMarks(tx, ws) : [null, null];
    const rows = await tx.query<Row>(
      `insert into sequences (workspace_id, id, version, source, spec, active, activated_at,
         activated_transition_seq, activated_event_order, created_by, created_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning ${COLUMNS}`,
      [
        ws,
        spec.id,
        version,
        source,
        JSON.stringify(spec),
        o.activate,
        o.activate ? o.now : null,
        t,
        e,
        o.by,
        o.now,
      ],
    );
    return toStored(rows[0] as Row);
  });
}

/** Runs a version (the latest when none is given): new leads enter it from now on. */
export async function activateSequence(
  db: Database,
  ws: string,
  id: string,
  version: number | null,
  now: number,
): Promise<StoredSequence> {
  return db.transaction(async (tx) => {
    requirePostalAddress(await loadSettings(tx, ws));
    const found = await tx.query<{ version: number }>(
      `select version from sequences where workspace_id = $1 and id = $2 ${version === null ? "" : "and version = $3"}
       order by version desc limit 1`,
      version === null ? [ws, id] : [ws, id, version],
    );
    const v = found[0]?.version;
    if (v === undefined)
      throw new QualifyError(
        "NOT_FOUND",
        `no sequence '${id}'${version === null ? "" : ` version ${version}`}`,
      );
    await tx.query("update sequences set active = false where workspace_id = $1 and id = $2 and active", [
      ws,
      id,
    ]);
    const [t, e] = await activationMarks(tx, ws);
    const rows = await tx.query<Row>(
      `update sequences set active = true, activated_at = $4, activated_transition_seq = $5, activated_event_order = $6
       where workspace_id = $1 and id = $2 and version = $3 returning ${COLUMNS}`,
      [ws, id, v, now, t, e],
    );
    return toStored(rows[0] as Row);
  });
}

/** Pauses a sequence: no lead enters it, and its enrollments hold until it runs again. */
export async function pauseSequence(db: Database, ws: string, id: string): Promise<void> {
  const rows = await db.query(
    "update sequences set active = false where workspace_id = $1 and id = $2 and active returning 1",
    [ws, id],
  );
  if (rows.length === 0) throw new QualifyError("NOT_FOUND", `sequence '${id}' is not running`);
}

export async function sequenceVersions(q: Queryable, ws: string, id: string): Promise<StoredSequence[]> {
  const rows = await q.query<Row>(
    `select ${COLUMNS} from sequences where workspace_id = $1 and id = $2 order by version desc`,
    [ws, id],
  );
  return rows.map(toStored);
}

/** Each sequence's latest version, and whether one of its versions runs. */
export async function listSequences(
  q: Queryable,
  ws: string,
): Promise<(StoredSequence & { running: boolean })[]> {
  const rows = await q.query<Row & { running: boolean }>(
    `select distinct on (id) ${COLUMNS},
       exists (select 1 from sequences a where a.workspace_id = s.workspace_id and a.id = s.id and a.active) as running
     from sequences s where workspace_id = $1 order by id, version desc`,
    [ws],
  );
  return rows.map((r) => ({ ...toStored(r), running: r.running }));
}

/** A sequence version ready to run: its conditions compiled once. */
export interface RunnableSequence {
  id: string;
  version: number;
  spec: SequenceSpec;
  activatedAt: number;
  /** Entry by stage counts transitions after this seq, entry by event events processed after this. */
  activatedTransitionSeq: number;
  activatedEventOrder: number;
  entryWhen: Predicate | null;
  exitWhen: Predicate | null;
  branches: Map<string, Predicate>;
  /** How far back its conditions count recent events (0: they count none). */
  eventWindow: number;
}

const compiled = new Map<string, RunnableSequence>();

interface VersionRow {
  id: string;
  version: number;
  source: string;
  activated_at: number | null;
  activated_transition_seq: number | null;
  activated_event_order: number | null;
}
const VERSION_COLUMNS = "id, version, source, activated_at, activated_transition_seq, activated_event_order";

const activation = (r: VersionRow) => ({
  activatedAt: Number(r.activated_at ?? 0),
  activatedTransitionSeq: Number(r.activated_transition_seq ?? 0),
  activatedEventOrder: Number(r.activated_event_order ?? 0),
});

function compile(ws: string, r: VersionRow): RunnableSequence {
  const key = `${ws}/${r.id}@${r.version}`;
  const hit = compiled.get(key);
  // A stored version never changes, but another database (a test, a restore) may hold another.
  if (hit && compiledSources.get(key) === r.source) return { ...hit, ...activation(r) };
  const spec = loadSequence(r.source, `sequence ${r.id} v${r.version}`);
  const branches = new Map<string, Predicate>();
  const conditions = [spec.entry.when, spec.exit.when];
  for (const s of spec.steps)
    if ("if" in s) {
      branches.set(s.id, compileCondition(s.if));
      conditions.push(s.if);
    }
  const out: RunnableSequence = {
    id: r.id,
    version: r.version,
    spec,
    ...activation(r),
    entryWhen: spec.entry.when ? compileCondition(spec.entry.when) : null,
    exitWhen: spec.exit.when ? compileCondition(spec.exit.when) : null,
    branches,
    eventWindow: eventWindow(conditions),
  };
  compiled.set(key, out);
  compiledSources.set(key, r.source);
  return out;
}
const compiledSources = new Map<string, string>();

/** The running version of every sequence in the workspace. */
export async function runningSequences(q: Queryable, ws: string): Promise<RunnableSequence[]> {
  const rows = await q.query<VersionRow>(
    `select ${VERSION_COLUMNS} from sequences where workspace_id = $1 and active order by id`,
    [ws],
  );
  return rows.map((r) => compile(ws, r));
}

/** One version, running or not (an enrollment runs the version it entered with). */
export async function sequenceVersion(
  q: Queryable,
  ws: string,
  id: string,
  version: number,
): Promise<(RunnableSequence & { active: boolean }) | null> {
  const rows = await q.query<VersionRow & { active: boolean }>(
    `select ${VERSION_COLUMNS}, active from sequences where workspace_id = $1 and id = $2 and version = $3`,
    [ws, id, version],
  );
  const r = rows[0];
  return r ? { ...compile(ws, r), active: r.active } : null;
}
