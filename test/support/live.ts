import {
  type CompiledModel,
  type Input,
  type LeadState,
  newLeadState,
  replay,
  step,
  type Transition,
} from "../../src/engine/index.js";

/**
 * Live processing as the service will do it: step each batch as it becomes known, and when an
 * input is late, replay with the inputs known before. Each batch is processed at its newest time.
 */
export function processLive(m: CompiledModel, batches: readonly Input[][]) {
  let state: LeadState = newLeadState(m);
  const known: Input[] = [];
  const emitted: (readonly Transition[])[] = [];
  for (const b of batches) {
    const t = Math.max(state.asOf, ...b.map((i) => i.at));
    const r = step(m, state, b, t);
    const done = r.needsReplayFrom === undefined ? r : replay(m, state, known, b, t);
    state = done.state;
    known.push(...b);
    emitted.push(done.transitions);
  }
  return { state, emitted, transitions: emitted.flat() };
}
