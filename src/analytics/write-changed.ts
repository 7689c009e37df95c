import type { Queryable } from "../db/database.js";
import { arrayLiteral } from "../db/insert-rows.js";

/**
 * Writes the rollup rows that changed, and only those. A rollup step recomputes every lead its
 * stretch touched, but most come out as they were: a lead whose last session grew by a call keeps
 * its stage stays, paths and credits, and often its funnel row. Deleting and inserting them all
 * again left a dead row and new index entries for each, every step (and autovacuum may be off).
 */

/**
 * Inserts the rows `select` gives (its columns in the order of `columns`), or updates the row with
 * their key, skipping each one stored as it is. Rows of the same leads that `select` no longer
 * gives are left: the caller deletes them (`deleteLeads`) where that can happen.
 */
export async function upsertChanged(
  tx: Queryable,
  table: string,
  key: readonly string[],
  columns: readonly string[],
  select: string,
  params: readonly unknown[],
): Promise<void> {
  const rest = columns.filter((c) => !key.includes(c));
  const list = (alias: string, cols: readonly string[]) => cols.map((c) => `${alias}.${c}`).join(", ");
  await tx.query(
    `insert into ${table} (${columns.join(", ")})
     select ${list("d", columns)} from (${select}) as d (${columns.join(", ")})
     where not exists (
       select 1 from ${table} s where ${key.map((c) => `s.${c} = d.${c}`).join(" and ")}
         and (${list("s", rest)}) is not distinct from (${list("d", rest)}))
     on conflict (${key.join(", ")}) do update set ${rest.map((c) => `${c} = excluded.${c}`).join(", ")}`,
    [...params],
  );
}

/** Deletes the rows of these leads (none: no statement). */
export async function deleteLeads(tx: Queryable, table: string, ws: string, leads: readonly string[]) {
  if (leads.length === 0) return;
  await tx.query(`delete from ${table} where workspace_id = $1 and lead_id = any($2::text[])`, [
    ws,
    arrayLiteral(leads, "text"),
  ]);
}

/**
 * The leads whose rows differ from those stored, for a table without a key per row. Rows are
 * compared as canonical strings: `wanted` holds each lead's rows, `stored` the stored rows with
 * their lead. A lead with no rows either way is unchanged.
 */
export function changedLeads(
  leads: readonly string[],
  wanted: ReadonlyMap<string, string[]>,
  stored: Iterable<readonly [lead: string, row: string]>,
): string[] {
  const before = new Map<string, string[]>();
  for (const [lead, row] of stored) {
    const list = before.get(lead) ?? [];
    list.push(row);
    before.set(lead, list);
  }
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  return leads.filter((id) => !same((before.get(id) ?? []).sort(), [...(wanted.get(id) ?? [])].sort()));
}
