import type { Queryable } from "./database.js";

/** PostgreSQL takes at most 65,535 parameters per statement. */
const MAX_PARAMS = 65_535;

/** How many rows of `columns` columns one statement can insert. */
export const rowsPerStatement = (columns: number) => Math.max(1, Math.floor(MAX_PARAMS / columns));

/**
 * A multi-row INSERT, split into as few statements as the parameter limit allows. `suffix` follows
 * the VALUES list (`on conflict … do nothing`, `returning …`); the rows each statement returns are
 * concatenated.
 */
export async function insertRows<T = Record<string, unknown>>(
  db: Queryable,
  table: string,
  columns: readonly string[],
  rows: readonly unknown[][],
  suffix = "",
): Promise<T[]> {
  const out: T[] = [];
  const per = rowsPerStatement(columns.length);
  for (let start = 0; start < rows.length; start += per) {
    const chunk = rows.slice(start, start + per);
    const params: unknown[] = [];
    const tuples = chunk.map((row) => {
      const marks = row.map((v) => {
        params.push(v);
        return `$${params.length}`;
      });
      return `(${marks.join(", ")})`;
    });
    const sql = `insert into ${table} (${columns.join(", ")}) values ${tuples.join(", ")} ${suffix}`;
    out.push(...(await db.query<T>(sql, params)));
  }
  return out;
}

/**
 * Separates values in one text parameter, split by `string_to_array(…, E'\\x1e')`: JSON text never
 * holds it raw (JSON.stringify escapes control characters), nor do stages and grades. One text split
 * by the database is far cheaper, on both sides, than a text[] parameter whose every quote is
 * escaped and unescaped.
 */
export const SEP = "\x1e";

/** The SQL types an array parameter built by `arrayLiteral` can hold. */
export type ArrayType = "text" | "bigint" | "integer" | "boolean";

const QUOTED = /["\\]/g;

/**
 * A PostgreSQL array literal (`{"a","b",NULL}`) of one column's values, to pass as a single
 * parameter cast to `type[]` and expand with `unnest`. Much cheaper to send and to parse than one
 * parameter per value: a statement's text and parameter count no longer grow with the rows.
 */
export function arrayLiteral(values: readonly unknown[], type: ArrayType): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) parts[i] = "NULL";
    else if (type === "text") parts[i] = `"${String(v).replace(QUOTED, "\\$&")}"`;
    else if (type === "boolean") parts[i] = v ? "t" : "f";
    else parts[i] = String(v);
  }
  return `{${parts.join(",")}}`;
}

/**
 * One array parameter per column: each column's values over `items`, as an array literal, for a
 * statement that expands them with `unnest` (bulk updates and joins).
 */
export function arrayColumns<T>(
  items: readonly T[],
  cols: readonly [(x: T) => unknown, ArrayType][],
): string[] {
  return cols.map(([get, type]) => arrayLiteral(items.map(get), type));
}
