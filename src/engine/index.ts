/**
 * The scoring engine: pure functions of (model, inputs, time). No I/O, no clock.
 * Live processing, rescoring, backtests and "as of" queries all call these.
 */
import { type CompiledModel, compileModel } from "./model/compile-model.js";
import { loadModel } from "./model/load-model.js";

export { type ConditionContext, describeCondition, explainCondition } from "./evaluate-condition.js";
export { FACT_MOVES, factsAllowedFrom, isHandRaiserReason } from "./lifecycle.js";
export type { CompiledModel } from "./model/compile-model.js";
export { compileModel } from "./model/compile-model.js";
export { formatPath, loadModel } from "./model/load-model.js";
export type { ModelSpec } from "./model/model-schema.js";
export { fromCents, toCents } from "./points.js";
export {
  compareInputs,
  contributionsOf,
  type Evaluation,
  evaluate,
  type LeadState,
  type LeadSummary,
  newLeadState,
  replay,
  replayInIngestOrder,
  type StepResult,
  step,
  summarize,
  takesInOrder,
} from "./run-engine.js";
export * from "./types.js";

/** Parses, validates and compiles a model from YAML text. */
export function parseModel(text: string, source?: string): CompiledModel {
  return compileModel(loadModel(text, source));
}
