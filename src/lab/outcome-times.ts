import type { Queryable } from "../db/database.js";
import type { OutcomeKind } from "./import/lead-mapping.js";

/**
 * When each lead first reached an outcome (docs/model-lab.md), by a stage transition or a stage
 * fact: a CRM's or an import's facts count even when the engine ignored them, so outcomes need no
 * handoff. `converted` is SQL or beyond, `opportunity` an opportunity or a win, `won` a win.
 */
const STAGES: Record<OutcomeKind, string[]> = {
  converted: ["sql", "opportunity", "customer"],
  opportunity: ["opportunity", "customer"],
  won: ["customer"],
};
const FACTS: Record<OutcomeKind, string[]> = {
  converted: ["converted", "opportunity", "won"],
  opportunity: ["opportunity", "won"],
  won: ["won"],
};

/** SQL for (lead_id, at): each lead's first time reaching the outcome; $1 the workspace, $2 and $3 taken. */
export const OUTCOME_SQL = `select lead_id, min(at) as at from (
    select lead_id, at from transitions where workspace_id = $1 and to_stage = any($2::text[])
    union all
    select lead_id, at from events where workspace_id = $1 and kind = 'fact' and input->>'fact' = any($3::text[])
  ) x group by lead_id`;

export const outcomeParams = (ws: string, outcome: OutcomeKind) => [ws, STAGES[outcome], FACTS[outcome]];

export async function outcomeTimes(
  q: Queryable,
  ws: string,
  outcome: OutcomeKind,
): Promise<Map<string, number>> {
  const rows = await q.query<{ lead_id: string; at: number | string }>(
    OUTCOME_SQL,
    outcomeParams(ws, outcome),
  );
  return new Map(rows.map((r) => [r.lead_id, Number(r.at)]));
}
