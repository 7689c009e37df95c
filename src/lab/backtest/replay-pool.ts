import type { Worker } from "node:worker_threads";
import type { CompiledModel } from "../../engine/index.js";
import { startWorker } from "../start-worker.js";
import { leadMqls } from "./lead-mqls.js";

/**
 * Replays a backtest's pages of leads on `threads` worker threads (docs/model-lab.md), so that
 * reading the next pages from the database, parsing and replaying run side by side and the
 * server's event loop stays free. Pages go to whichever thread is free; each answer is
 * `leadMqls`'s. With `threads` 0, pages are replayed in this thread.
 */
export interface ReplayPool {
  replay(leads: string[]): Promise<Float64Array>;
  close(): Promise<void>;
}

export function replayPool(
  models: readonly CompiledModel[],
  period: { from: number; to: number },
  threads: number,
): ReplayPool {
  if (threads === 0)
    return {
      replay: async (leads) => leadMqls(models, leads, period.from, period.to),
      close: async () => undefined,
    };
  const workerData = { specs: models.map((m) => m.spec), ...period };
  const workers = Array.from({ length: threads }, () =>
    startWorker(import.meta.url, "replay-worker", workerData),
  );
  const idle: Worker[] = [...workers];
  const queue: { id: number; leads: string[] }[] = [];
  const pending = new Map<number, { resolve: (out: Float64Array) => void; reject: (e: Error) => void }>();
  let ids = 0;
  const dispatch = () => {
    while (idle.length > 0 && queue.length > 0) (idle.pop() as Worker).postMessage(queue.shift());
  };
  const failAll = (e: Error) => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  for (const w of workers) {
    w.on("message", (m: { id: number; out?: Float64Array; error?: string }) => {
      const p = pending.get(m.id);
      pending.delete(m.id);
      idle.push(w);
      dispatch();
      if (m.out) p?.resolve(m.out);
      else p?.reject(new Error(`backtest replay failed: ${m.error}`));
    });
    w.on("error", failAll);
  }
  return {
    replay: (leads) =>
      new Promise((resolve, reject) => {
        const id = ids++;
        pending.set(id, { resolve, reject });
        queue.push({ id, leads });
        dispatch();
      }),
    close: async () => {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
