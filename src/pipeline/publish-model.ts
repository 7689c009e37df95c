import { holdWorkspace } from "../db/advisory-locks.js";
import type { Database, Queryable } from "../db/database.js";
import {
  type CompiledModel,
  type LeadState,
  newLeadState,
  replay,
  replayInIngestOrder,
  summarize,
} from "../engine/index.js";
import { scheduleNurture } from "../nurture/schedule-nurture.js";
import { writeTransitions } from "./batch.js";
import type { StoredTransition } from "./lead-record.js";
import { stageRank } from "./merge-leads.js";
import { activateModel, compileStored, getModel } from "./model-store.js";
import {
  type LeadToRescore,
  type RescoredRow,
  readsContext,
  streamLeads,
  writeLeads,
} from "./rescore-stream.js";

/**
 * Publishing a model version: a preview of what would change, then a rescore of every lead from its
 * stored events. A lead at or past MQL fires nothing again. A lead that the new model qualifies gets
 * its MQL transition at publish time (actor `model:vN`, with `wouldHaveQualifiedAt`), but only when
 * it was active within `activeDays`; the others keep their stage and qualify at their next input.
 */

const DAY = 86_400_000;
const PRE_MQL = new Set(["visitor", "subscriber", "lead", "recycled"]);

export interface PublishOptions {
  activeDays: number;
  now: number;
  by: string;
  onProgress?: (done: number, total: number) => void;
}

export interface Rescored {
  lead: LeadToRescore;
  state: LeadState;
  wouldHaveQualifiedAt: number | null;
  active: boolean;
}

/** The week (Monday, UTC) a time falls in, as YYYY-MM-DD. */
export function weekOf(ms: number): string {
  const d = new Date(ms);
  const monday =
    Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - ((d.getUTCDay() + 6) % 7) * DAY;
  return new Date(monday).toISOString().slice(0, 10);
}

/**
 * Rescores one lead with `m`; the new state takes over `lead.lifecycle` (read fresh from storage for
 * this). Exported for the rescore benchmark, which times it alone.
 */
export function rescore(m: CompiledModel, lead: LeadToRescore, opts: Omit<PublishOptions, "by">): Rescored {
  // Scores are rebuilt from every input; the stage machine continues where the lead is.
  const inputs = lead.inputs;
  const state = newLeadState(m);
  if (lead.lifecycle) state.l = lead.lifecycle;
  state.asOf = Math.max(lead.asOf, opts.now);
  replay(m, state, inputs, [], opts.now);
  let wouldHaveQualifiedAt: number | null = null;
  if (PRE_MQL.has(lead.stage)) {
    const fresh = replayInIngestOrder(m, inputs, opts.now);
    // The qualification the new model's history ends in: the last one (a recycled lead may have
    // qualified before, and been recycled, under the new model too).
    const mql = fresh.transitions.findLast((t) => t.to === "mql");
    if (mql && fresh.state.l.stage === "mql") wouldHaveQualifiedAt = mql.at;
  }
  const active = (lead.lastEventAt ?? lead.firstSeenAt) >= opts.now - opts.activeDays * DAY;
  return { lead, state, wouldHaveQualifiedAt, active };
}

async function countLeads(db: Queryable, ws: string): Promise<number> {
  const rows = await db.query<{ n: number }>(
    "select count(*)::int as n from leads where workspace_id = $1 and merged_into is null",
    [ws],
  );
  return rows[0]?.n ?? 0;
}

export interface Preview {
  version: number;
  leads: number;
  newlyQualifying: number;
  newlyQualifyingActive: number;
  /** Leads that would newly qualify, by the week they would have qualified in. */
  byWeek: { week: string; leads: number; active: number }[];
  /** Leads now qualified (MQL) that the new model would not have qualified. */
  noLongerQualifying: number;
  activeDays: number;
}

export async function previewModel(
  db: Database,
  ws: string,
  version: number,
  opts: Omit<PublishOptions, "by">,
): Promise<Preview> {
  const stored = await getModel(db, ws, version);
  const m = compileStored(stored.source, version);
  const weeks = new Map<string, { leads: number; active: number }>();
  let leads = 0;
  let newly = 0;
  let newlyActive = 0;
  let lost = 0;
  const total = await countLeads(db, ws);
  for await (const batch of streamLeads(db, ws, { context: readsContext(m.spec) })) {
    for (const lead of batch) {
      leads++;
      const r = rescore(m, lead, opts);
      if (r.wouldHaveQualifiedAt !== null) {
        newly++;
        if (r.active) newlyActive++;
        const w = weekOf(r.wouldHaveQualifiedAt);
        const cur = weeks.get(w) ?? { leads: 0, active: 0 };
        cur.leads++;
        if (r.active) cur.active++;
        weeks.set(w, cur);
      }
      if (
        lead.stage === "mql" &&
        !replayInIngestOrder(m, lead.inputs, opts.now).transitions.some((t) => t.to === "mql")
      )
        lost++;
      opts.onProgress?.(leads, total);
    }
  }
  return {
    version,
    leads,
    newlyQualifying: newly,
    newlyQualifyingActive: newlyActive,
    byWeek: [...weeks].sort(([a], [b]) => (a < b ? -1 : 1)).map(([week, v]) => ({ week, ...v })),
    noLongerQualifying: lost,
    activeDays: opts.activeDays,
  };
}

export interface PublishResult {
  version: number;
  rescored: number;
  newlyQualified: number;
  skippedInactive: number;
}

/**
 * Rescores every lead with `version` and makes it active, in one transaction that holds the
 * workspace's gate alone: processing batches in any process wait for it. Leads stream in pages
 * (`rescore-stream.ts`), so memory stays bounded whatever the number of leads; while one page is
 * scored, the database reads the next and writes the last (one statement per page), on PostgreSQL
 * in two server processes (`withReader`). Run with the pipeline held (exclusive).
 */
export async function publishModel(
  db: Database,
  ws: string,
  version: number,
  opts: PublishOptions,
): Promise<PublishResult> {
  const stored = await getModel(db, ws, version);
  const m = compileStored(stored.source, version);
  const actor = `model:v${version}`;
  const result: PublishResult = { version, rescored: 0, newlyQualified: 0, skippedInactive: 0 };
  await db.transaction(async (tx) => {
    await holdWorkspace(tx, ws, "exclusive");
    const total = await countLeads(tx, ws);
    // At most one batch's writes in flight: they run in the database while the next batch is scored.
    let writing: Promise<void> = Promise.resolve();
    await withReader(db, tx, async (reader) => {
      for await (const batch of streamLeads(reader, ws, { context: readsContext(m.spec) })) {
        const rows: RescoredRow[] = [];
        const transitions: StoredTransition[] = [];
        for (const lead of batch) {
          const r = rescore(m, lead, opts);
          let firstMqlAt: number | null = null;
          if (r.wouldHaveQualifiedAt !== null && r.active && stageRank(lead.stage) < stageRank("mql")) {
            r.state.l.stage = "mql";
            r.state.l.mqlAt = opts.now;
            r.state.l.at = Math.max(r.state.l.at ?? opts.now, opts.now);
            r.state.l.why = `newly qualified by model v${version}`;
            r.state.l.whyRules = [];
            firstMqlAt = opts.now;
          }
          // Scores and grade depend on the score state alone, not on the stage set just above.
          const s = summarize(m, r.state, opts.now);
          if (firstMqlAt !== null && r.wouldHaveQualifiedAt !== null) {
            transitions.push({
              leadId: lead.id,
              from: lead.stage as StoredTransition["from"],
              to: "mql",
              at: opts.now,
              triggerAt: r.wouldHaveQualifiedAt,
              inputId: `publish:v${version}`,
              actor,
              by: opts.by,
              rules: [],
              reason: `model v${version} published; it would have qualified the lead at ${new Date(r.wouldHaveQualifiedAt).toISOString()}`,
              scores: s.scores,
              grade: s.grade,
              modelVersion: version,
              wouldHaveQualifiedAt: r.wouldHaveQualifiedAt,
              notify: true,
            });
            result.newlyQualified++;
          } else if (r.wouldHaveQualifiedAt !== null) result.skippedInactive++;
          rows.push({
            id: lead.id,
            state: r.state,
            stage: s.stage,
            scores: s.scores,
            grade: s.grade,
            scoresAsOf: s.asOf,
            mqlAt: s.mqlAt,
            firstMqlAt,
            storedAccount: lead.account,
          });
          result.rescored++;
          opts.onProgress?.(result.rescored, total);
        }
        await writing;
        writing = (async () => {
          await writeLeads(tx, ws, version, rows);
          await writeTransitions(tx, ws, transitions);
          // New scores and stages: nurture re-checks segments, audiences and exits.
          await scheduleNurture(
            tx,
            ws,
            rows.map((r) => r.id),
            opts.now,
          );
        })();
        // A failed write is reported by the await above (next batch) or below, never as unhandled.
        writing.catch(() => undefined);
      }
    });
    await writing;
    await activateModel(tx, ws, version, opts.by, result);
  });
  return result;
}

/**
 * Runs `fn` with a connection to read from. On PostgreSQL it is a connection of its own, in a
 * read-only transaction on the publish transaction's snapshot (taken once the gate is held, so it
 * sees exactly what the publish would): the database reads the next leads while the publish's own
 * connection writes the last ones, on two server processes. On PGlite, or when the pool has no
 * second connection to give, reads go through the publish's transaction.
 */
async function withReader<T>(db: Database, tx: Queryable, fn: (reader: Queryable) => Promise<T>): Promise<T> {
  if (db.kind !== "postgres") return fn(tx);
  const rows = await tx.query<{ s: string }>("select pg_export_snapshot() as s");
  const snapshot = rows[0]?.s;
  let started = false;
  try {
    return await db.transaction(async (reader) => {
      started = true;
      await reader.query("set transaction isolation level repeatable read, read only");
      await reader.query(`set transaction snapshot '${snapshot}'`);
      return fn(reader);
    });
  } catch (e) {
    if (started) throw e;
    return fn(tx);
  }
}
