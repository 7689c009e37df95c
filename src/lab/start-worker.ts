import { Worker } from "node:worker_threads";

/**
 * A worker thread running the module `name` (without its extension) beside `base` (the caller's
 * `import.meta.url`). From the TypeScript sources (tests), the worker registers tsx before loading it.
 */
export function startWorker(base: string, name: string, workerData: unknown): Worker {
  const ts = base.endsWith(".ts");
  const url = new URL(`./${name}.${ts ? "ts" : "js"}`, base);
  return ts
    ? new Worker(
        `import("tsx/esm/api").then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`,
        { eval: true, workerData },
      )
    : new Worker(url, { workerData });
}
