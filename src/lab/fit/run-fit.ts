import { type ErrorCode, type ErrorDetail, QualifyError } from "../../errors.js";
import { startWorker } from "../start-worker.js";
import { type FoldOutput, summarizeFolds } from "./cross-validate.js";
import { type Dataset, stratifiedFolds } from "./dataset.js";
import { assembleReport, checkEnough, type FinalFit, type FitOptions, type FitReport } from "./fit-report.js";

/**
 * Runs a fit off the server's event loop, on up to `threads` worker threads: each cross-validation
 * fold and the final fit on every lead is a task, handed to whichever thread is free, and the
 * report is put together here from their results. The same report as `fitReport` in one thread.
 */

/** A task: a fold's number, or the final fit. */
export type FitTask = number | "final";
export type TaskResult =
  | { ok: true; task: FitTask; out: FoldOutput | FinalFit }
  | { ok: false; error: { code?: ErrorCode; message: string; details?: ErrorDetail[] } };

export async function runFit(dataset: Dataset, options: FitOptions, threads: number): Promise<FitReport> {
  checkEnough(dataset, options);
  const folds = stratifiedFolds(dataset.labels, options.folds, options.seed);
  // The final fit is the largest task: first.
  const queue: FitTask[] = ["final", ...Array.from({ length: options.folds }, (_, f) => f)];
  const outputs: FoldOutput[] = [];
  let final: FinalFit | undefined;
  const workers = Array.from({ length: Math.max(1, Math.min(threads, queue.length)) }, () =>
    startWorker(import.meta.url, "fit-worker", { dataset, options, folds }),
  );
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const next = () => {
              const task = queue.shift();
              if (task === undefined) resolve();
              else worker.postMessage(task);
            };
            worker.on("message", (m: TaskResult) => {
              if (!m.ok) {
                const e = m.error;
                reject(e.code ? new QualifyError(e.code, e.message, e.details ?? []) : new Error(e.message));
                return;
              }
              if (m.task === "final") final = m.out as FinalFit;
              else outputs.push(m.out as FoldOutput);
              next();
            });
            worker.once("error", reject);
            next();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return assembleReport(dataset, options, summarizeFolds(dataset, folds, outputs), final as FinalFit);
}
