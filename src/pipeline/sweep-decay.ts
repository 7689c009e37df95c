import type { Database, Queryable } from "../db/database.js";
import { type LeadState, summarize } from "../engine/index.js";
import { scheduleNurture } from "../nurture/schedule-nurture.js";
import type { ActiveModel } from "./model-store.js";

const PAGE = 1000;

/**
 * Decay: stored scores are as of their `scores_as_of`. The sweep recomputes every lead's scores,
 * grade and qualification status at `now` from its state (the engine's pure summary; no events are
 * read, and no transition is made or undone). Returns how many leads it refreshed.
 *
 * Each page is a transaction that locks its leads, skipping those a batch holds now (the batch
 * refreshes their summary itself), so the sweep never writes over a batch's work and needs no pause.
 */
export async function sweepDecay(
  db: Database,
  ws: string,
  active: ActiveModel,
  now: number,
): Promise<number> {
  let after = "";
  let n = 0;
  for (;;) {
    const page = await db.transaction((tx) => sweepPage(tx, ws, active, now, after));
    if (page === null) return n;
    n += page.refreshed;
    after = page.last;
  }
}

async function sweepPage(tx: Queryable, ws: string, active: ActiveModel, now: number, after: string) {
  const rows = await tx.query<{ id: string; state: LeadState }>(
    `select id, state from leads where workspace_id = $1 and id > $2 and merged_into is null and state is not null
       order by id limit $3 for update skip locked`,
    [ws, after, PAGE],
  );
  if (rows.length === 0) return null;
  const updates = rows
    .filter((r) => r.state.model === active.model.key)
    .map((r) => {
      const s = summarize(active.model, r.state, Math.max(now, r.state.asOf));
      return { id: r.id, scores: JSON.stringify(s.scores), grade: s.grade, asOf: s.asOf };
    });
  if (updates.length > 0)
    await tx.query(
      `update leads l set scores = u.scores::jsonb, grade = u.grade, scores_as_of = u.as_of
         from (select unnest($2::text[]) as id, unnest($3::text[]) as scores, unnest($4::text[]) as grade,
                      unnest($5::bigint[]) as as_of) u
         where l.workspace_id = $1 and l.id = u.id`,
      [
        ws,
        updates.map((u) => u.id),
        updates.map((u) => u.scores),
        updates.map((u) => u.grade),
        updates.map((u) => u.asOf),
      ],
    );
  // Decayed scores can move a lead in or out of a segment: nurture re-checks it.
  await scheduleNurture(
    tx,
    ws,
    updates.map((u) => u.id),
    now,
  );
  return { refreshed: updates.length, last: rows[rows.length - 1]?.id ?? after };
}

/**
 * Whether this process should run the periodic sweep now: the first process to claim it once
 * `everyMs` has passed since the last sweep does; the others skip it.
 */
export async function claimSweep(db: Queryable, ws: string, now: number, everyMs: number): Promise<boolean> {
  const rows = await db.query(
    `insert into service_state (workspace_id, key, value) values ($1, 'decay_swept_at', to_jsonb($2::bigint))
     on conflict (workspace_id, key) do update set value = excluded.value
       where (service_state.value #>> '{}')::bigint <= $2::bigint - $3::bigint
     returning 1`,
    [ws, now, everyMs],
  );
  return rows.length > 0;
}
