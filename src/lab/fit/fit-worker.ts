import { parentPort, workerData } from "node:worker_threads";
import { QualifyError } from "../../errors.js";
import type { Dataset } from "./dataset.js";
import { type FitOptions, fitReport } from "./fit-report.js";

/** Runs one fit off the server's event loop (see run-fit.ts). */
const { dataset, options } = workerData as { dataset: Dataset; options: FitOptions };
try {
  parentPort?.postMessage({ ok: true, report: fitReport(dataset, options) });
} catch (e) {
  const err =
    e instanceof QualifyError
      ? { code: e.code, message: e.message, details: e.details }
      : { message: String(e) };
  parentPort?.postMessage({ ok: false, error: err });
}
