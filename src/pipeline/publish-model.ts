import type { Database, Queryable } from "../db/database.js";
import {
  type CompiledModel,
  type Input,
  type LeadState,
  newLeadState,
  replay,
  replayInIngestOrder,
  summarize,
} from "../engine/index.js";
import { writeTransitions } from "./batch.js";
import { fromRow, type LeadRecord, type LeadRow, type StoredTransition } from "./lead-record.js";
import { stageRank } from "./merge-leads.js";
import { activateModel, compileStored, getModel } from "./model-store.js";

/**
 * Publishing a model version: a preview of what would change, then a rescore of every lead from its
 * stored events. A lead at or past MQL fires nothing again. A lead that the new model qualifies gets
 * its MQL transition at publish time (actor `model:vN`, with `wouldHaveQualifiedAt`), but only when
 * it was active within `activeDays`; the others keep their stage and qualify at their next input.
 */

const PAGE = 200;
const DAY = 86_400_000;
const PRE_MQL = new Set(["visitor", "subscriber", "lead", "recycled"]);

export interface PublishOptions {
  activeDays: number;
  now: number;
  by: string;
  onProgress?: (done: number, total: number) => void;
}

interface Rescored {
  lead: LeadRecord;
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

function rescore(m: CompiledModel, lead: LeadRecord, inputs: Input[], opts: PublishOptions): Rescored {
  // Scores are rebuilt from every input; the stage machine continues where the lead is.
  const state = newLeadState(m);
  if (lead.state) state.l = structuredClone(lead.state.l);
  state.asOf = Math.max(lead.state?.asOf ?? 0, opts.now);
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

async function* everyLead(db: Queryable, ws: string) {
  let after = "";
  for (;;) {
    const rows = await db.query<LeadRow>(
      "select * from leads where workspace_id = $1 and id > $2 and merged_into is null order by id limit $3",
      [ws, after, PAGE],
    );
    if (rows.length === 0) return;
    const ids = rows.map((r) => r.id);
    const events = await db.query<{ lead_id: string; input: Input }>(
      "select lead_id, input from events where workspace_id = $1 and lead_id = any($2) and processed order by processed_order",
      [ws, ids],
    );
    const byLead = new Map<string, Input[]>(ids.map((id) => [id, []]));
    for (const e of events) byLead.get(e.lead_id)?.push(e.input);
    for (const r of rows) yield { lead: fromRow(r), inputs: byLead.get(r.id) ?? [] };
    after = rows[rows.length - 1]?.id ?? after;
  }
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
  for await (const { lead, inputs } of everyLead(db, ws)) {
    leads++;
    const r = rescore(m, lead, inputs, { ...opts, by: "" });
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
      !replayInIngestOrder(m, inputs, opts.now).transitions.some((t) => t.to === "mql")
    )
      lost++;
    opts.onProgress?.(leads, total);
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

/** Rescores every lead with `version` and makes it active. Run with the pipeline held (exclusive). */
export async function publishModel(
  db: Database,
  ws: string,
  version: number,
  opts: PublishOptions,
): Promise<PublishResult> {
  const stored = await getModel(db, ws, version);
  const m = compileStored(stored.source, version);
  const actor = `model:v${version}`;
  const total = await countLeads(db, ws);
  const result: PublishResult = { version, rescored: 0, newlyQualified: 0, skippedInactive: 0 };
  await db.transaction(async (tx) => {
    for await (const { lead, inputs } of everyLead(tx, ws)) {
      const r = rescore(m, lead, inputs, opts);
      const transitions: StoredTransition[] = [];
      const summary0 = summarize(m, r.state, opts.now);
      if (r.wouldHaveQualifiedAt !== null && r.active && stageRank(lead.stage) < stageRank("mql")) {
        r.state.l.stage = "mql";
        r.state.l.mqlAt = opts.now;
        r.state.l.at = Math.max(r.state.l.at ?? opts.now, opts.now);
        r.state.l.why = `newly qualified by model v${version}`;
        r.state.l.whyRules = [];
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
          scores: summary0.scores,
          grade: summary0.grade,
          modelVersion: version,
          wouldHaveQualifiedAt: r.wouldHaveQualifiedAt,
          notify: true,
        });
        result.newlyQualified++;
      } else if (r.wouldHaveQualifiedAt !== null) result.skippedInactive++;
      const s = summarize(m, r.state, opts.now);
      await tx.query(
        `update leads set state = $3, stage = $4, scores = $5, grade = $6, scores_as_of = $7, mql_at = $8,
           first_mql_at = coalesce(first_mql_at, $9), model_version = $10, updated_at = now()
         where workspace_id = $1 and id = $2`,
        [
          ws,
          lead.id,
          JSON.stringify(r.state),
          s.stage,
          JSON.stringify(s.scores),
          s.grade,
          s.asOf,
          s.mqlAt,
          transitions.length > 0 ? opts.now : null,
          version,
        ],
      );
      await writeTransitions(tx, ws, transitions);
      result.rescored++;
      opts.onProgress?.(result.rescored, total);
    }
    await activateModel(tx, ws, version, opts.by, result);
  });
  return result;
}
