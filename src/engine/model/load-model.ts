import { checkReferences } from "./check-references.js";
import { loadYaml } from "./load-yaml.js";
import { type ModelSpec, modelSchema } from "./model-schema.js";

export { formatPath } from "./load-yaml.js";

/**
 * Parses and validates a model written in YAML. A bad model throws one MODEL_INVALID error that
 * lists every problem, each with the line of the offending node.
 */
export function loadModel(text: string, source = "model"): ModelSpec {
  return loadYaml(text, modelSchema, {
    source,
    code: "MODEL_INVALID",
    what: "the model",
    check: checkReferences,
  });
}
