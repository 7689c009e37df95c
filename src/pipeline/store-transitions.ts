import type { Transition } from "../engine/index.js";
import type { Batch, LeadContext } from "./batch.js";

/** Queues the engine's transitions for storage with the lead, and keeps the lead's MQL times. */
export function storeTransitions(
  batch: Batch,
  ctx: LeadContext,
  transitions: readonly Transition[],
  notify: boolean,
): void {
  for (const t of transitions) {
    ctx.transitions.push({ ...t, leadId: ctx.lead.id, modelVersion: batch.active.version, notify });
    if (t.to === "mql") ctx.lead.firstMqlAt ??= t.at;
  }
  if (transitions.length > 0) ctx.dirty = true;
}
