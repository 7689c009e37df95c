import { Worker } from "node:worker_threads";
import { type ErrorCode, type ErrorDetail, QualifyError } from "../../errors.js";
import type { Dataset } from "./dataset.js";
import type { FitOptions, FitReport } from "./fit-report.js";

/**
 * Runs `fitReport` in a worker thread, so that a fit of a minute keeps the server answering
 * ingest and the API meanwhile.
 */
export function runFit(dataset: Dataset, options: FitOptions): Promise<FitReport> {
  const ts = import.meta.url.endsWith(".ts");
  const url = new URL(`./fit-worker.${ts ? "ts" : "js"}`, import.meta.url);
  // From the TypeScript sources (tests), the worker registers tsx before loading the module.
  const worker = ts
    ? new Worker(
        `import("tsx/esm/api").then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`,
        { eval: true, workerData: { dataset, options } },
      )
    : new Worker(url, { workerData: { dataset, options } });
  return new Promise((resolve, reject) => {
    worker.once(
      "message",
      (
        m:
          | { ok: true; report: FitReport }
          | { ok: false; error: { code?: ErrorCode; message: string; details?: ErrorDetail[] } },
      ) => {
        void worker.terminate();
        if (m.ok) resolve(m.report);
        else if (m.error.code) reject(new QualifyError(m.error.code, m.error.message, m.error.details ?? []));
        else reject(new Error(m.error.message));
      },
    );
    worker.once("error", reject);
  });
}
