import type { Queryable } from "./database.js";

/** `service_state`: small per-workspace documents (settings, watermarks), by key. */

export async function readState(q: Queryable, ws: string, key: string): Promise<unknown> {
  const rows = await q.query<{ value: unknown }>(
    "select value from service_state where workspace_id = $1 and key = $2",
    [ws, key],
  );
  return rows[0]?.value;
}

/** Stores `value` (as JSON) under the key, replacing what was there. */
export async function writeState(q: Queryable, ws: string, key: string, value: unknown): Promise<void> {
  await q.query(
    `insert into service_state (workspace_id, key, value) values ($1, $2, $3::jsonb)
     on conflict (workspace_id, key) do update set value = excluded.value`,
    [ws, key, JSON.stringify(value ?? null)],
  );
}
