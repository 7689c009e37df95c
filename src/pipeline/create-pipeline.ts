import type { Config } from "../config/load-config.js";
import type { Database } from "../db/database.js";
import { openSessionConnection } from "../db/session-connection.js";
import { PartitionLeases } from "./partition-leases.js";
import { Pipeline, type PipelineOptions } from "./run-pipeline.js";

/**
 * Live processing as `qualify start` and `qualify worker` run it, over every workspace. On
 * PostgreSQL (DATABASE_URL) it shares the event partitions with the other processing processes;
 * on PGlite it is the only one and takes them all.
 */
export async function createPipeline(
  config: Config,
  db: Database,
  clock: () => number,
  hooks: Pick<PipelineOptions, "onError" | "onBatch"> = {},
): Promise<Pipeline> {
  const workspaces = (await db.query<{ id: string }>("select id from workspaces order by id")).map(
    (w) => w.id,
  );
  const url = config.databaseUrl;
  return new Pipeline(db, workspaces, {
    batchSize: config.pipelineBatch,
    batchMax: config.pipelineBatchMax,
    batchTargetMs: config.pipelineBatchTargetMs,
    clock,
    decaySweepMs: config.decaySweepMinutes * 60_000,
    leases: url ? new PartitionLeases(() => openSessionConnection(url, config.dbConnectTimeoutMs)) : null,
    ...hooks,
  });
}
