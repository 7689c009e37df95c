import { parentPort, workerData } from "node:worker_threads";
import { compileModel, type ModelSpec } from "../../engine/index.js";
import { leadMqls } from "./lead-mqls.js";

/** Replays a backtest's pages of leads off the server's event loop (see replay-pool.ts). */
const { specs, from, to } = workerData as { specs: ModelSpec[]; from: number; to: number };
const models = specs.map((s) => compileModel(s));
parentPort?.on("message", (job: { id: number; leads: string[] }) => {
  try {
    const out = leadMqls(models, job.leads, from, to);
    parentPort?.postMessage({ id: job.id, out }, [out.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort?.postMessage({ id: job.id, error: String(e instanceof Error ? e.stack : e) });
  }
});
