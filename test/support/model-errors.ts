import { loadModel } from "../../src/engine/index.js";
import { QualifyError } from "../../src/errors.js";

/** The line, path and message of every error in a model that must not load. */
export function modelErrors(text: string) {
  try {
    loadModel(text);
  } catch (e) {
    if (e instanceof QualifyError)
      return e.details.map((d) => ({ line: d.line, path: d.path, message: d.message }));
    throw e;
  }
  throw new Error("model unexpectedly valid");
}
