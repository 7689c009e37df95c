import { isDeepStrictEqual } from "node:util";
import {
  type CompiledModel,
  type Contribution,
  contributionsOf,
  evaluate,
  type Input,
  type LeadState,
  summarize,
} from "../src/engine/index.js";

/**
 * Checks that each lead's incremental state scores exactly as a full recompute at `t`: same scores,
 * grade, stage and contributions (message ids aside, which step states do not keep).
 * Returns a description of the first mismatch, or null.
 */
export function firstMismatch(
  model: CompiledModel,
  leads: readonly Input[][],
  states: readonly LeadState[],
  t: number,
): string | null {
  for (let i = 0; i < leads.length; i++) {
    const state = states[i] as LeadState;
    const stepped = summarize(model, state, t);
    const full = evaluate(model, leads[i] as Input[], t);
    const pairs: [string, unknown, unknown][] = [
      ["scores", stepped.scores, full.scores],
      ["grade", stepped.grade, full.grade],
      ["stage", stepped.stage, full.stage],
      ["contributions", contributionsOf(model, state, t), full.contributions.map(withoutEventId)],
    ];
    for (const [field, step, recompute] of pairs) {
      if (!isDeepStrictEqual(step, recompute))
        return `lead #${i}: ${field} differ\n  step:      ${JSON.stringify(step)}\n  recompute: ${JSON.stringify(recompute)}`;
    }
  }
  return null;
}

function withoutEventId({ eventId: _, ...rest }: Contribution): Contribution {
  return rest;
}
