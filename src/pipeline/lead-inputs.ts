import type { Queryable } from "../db/database.js";
import type { Input } from "../engine/index.js";

/** An input of a lead's history as stored, with its place in the log and when it was received. */
export interface StoredInput {
  seq: number;
  receivedAt: number;
  input: Input;
}

/** The lead's processed inputs, in the order the pipeline processed them (its ingest order). */
export async function leadInputs(db: Queryable, ws: string, leadId: string): Promise<StoredInput[]> {
  const rows = await db.query<{ seq: number; received_at: number; input: Input }>(
    "select seq, received_at, input from events where workspace_id = $1 and lead_id = $2 and processed order by processed_order",
    [ws, leadId],
  );
  return rows.map((r) => ({ seq: r.seq, receivedAt: r.received_at, input: r.input }));
}
