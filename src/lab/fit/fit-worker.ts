import { parentPort, workerData } from "node:worker_threads";
import { QualifyError } from "../../errors.js";
import { runFold } from "./cross-validate.js";
import type { Dataset } from "./dataset.js";
import { type FitOptions, finalFit } from "./fit-report.js";
import type { FitTask, TaskResult } from "./run-fit.js";

/** Runs a fit's tasks off the server's event loop (see run-fit.ts): one at a time, as they come. */
const { dataset, options, folds } = workerData as {
  dataset: Dataset;
  options: FitOptions;
  folds: Uint8Array;
};
parentPort?.on("message", (task: FitTask) => {
  let reply: TaskResult;
  try {
    const out =
      task === "final"
        ? finalFit(dataset, options)
        : runFold(dataset, folds, task, options.bins, options.boost);
    reply = { ok: true, task, out };
  } catch (e) {
    reply = {
      ok: false,
      error:
        e instanceof QualifyError
          ? { code: e.code, message: e.message, details: e.details }
          : { message: String(e) },
    };
  }
  parentPort?.postMessage(reply);
});
