import type { Database } from "../db/database.js";
import { newLeadState, replay, type Stage, summarize } from "../engine/index.js";
import { activeModel } from "../pipeline/model-store.js";
import { type RescoredRow, readsContext, streamLeads, writeLeads } from "../pipeline/rescore-stream.js";

/**
 * Gives every lead of a generated history its scores and engine state under the workspace's active
 * model, as live processing would have left them: the scores, grade and their contributions come
 * from the engine replaying the lead's stored events; the stage machine keeps the stage and MQL
 * time the generator wrote (its transitions and handoffs are the history), so that what sales does
 * next (accepting a pending handoff, say) moves on from there.
 */
export async function scoreGeneratedLeads(db: Database, ws: string, now: number): Promise<void> {
  const { version, model } = await activeModel(db, ws);
  const mqls = new Map(
    (
      await db.query<{ id: string; mql_at: number | string }>(
        "select id, mql_at from leads where workspace_id = $1 and mql_at is not null",
        [ws],
      )
    ).map((r) => [r.id, Number(r.mql_at)]),
  );
  for await (const batch of streamLeads(db, ws, { context: readsContext(model.spec) })) {
    const rows: RescoredRow[] = batch.map((lead) => {
      const { state } = replay(model, newLeadState(model), [], lead.inputs, now);
      const mqlAt = mqls.get(lead.id) ?? null;
      state.l = { ...state.l, stage: lead.stage as Stage, mqlAt, why: null, whyRules: [] };
      const s = summarize(model, state, now);
      return {
        id: lead.id,
        state,
        stage: lead.stage,
        scores: s.scores,
        grade: s.grade,
        scoresAsOf: now,
        mqlAt,
        firstMqlAt: null,
        storedAccount: lead.account,
      };
    });
    await writeLeads(db, ws, version, rows);
  }
}
