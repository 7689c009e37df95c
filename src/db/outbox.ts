import type { Queryable } from "./database.js";
import { insertRows } from "./insert-rows.js";

/**
 * The transactional outbox: a notification is written in the transaction of the fact that causes
 * it (a transition, a handoff change), so it exists exactly when the fact does. Its key makes a
 * retried transaction write it once. Webhook delivery reads it.
 */
export interface OutboxRow {
  topic: string;
  leadId: string | null;
  payload: unknown;
  key: string;
}

export async function writeOutbox(tx: Queryable, ws: string, rows: readonly OutboxRow[]): Promise<void> {
  await insertRows(
    tx,
    "outbox",
    ["workspace_id", "topic", "lead_id", "payload", "idempotency_key"],
    rows.map((o) => [ws, o.topic, o.leadId, JSON.stringify(o.payload), o.key]),
    "on conflict (workspace_id, idempotency_key) do nothing",
  );
}
