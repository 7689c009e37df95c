import type { ReactNode } from "react";

/** A column: its heading, how a row shows in it, right-aligned when numeric. */
export interface Column<T> {
  label: string;
  cell: (row: T) => ReactNode;
  num?: boolean;
}

/**
 * A labelled table whose first column heads its rows (`th scope="row"`), in a scrolling card; an
 * empty list says so.
 */
export function Table<T>({
  label,
  columns,
  rows,
  rowKey,
  wrap,
  empty = "Nothing here.",
}: {
  label: string;
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  wrap?: boolean;
  empty?: string;
}) {
  const [head, ...rest] = columns;
  return (
    <div className="table-wrap">
      <table aria-label={label} className={wrap ? "wrap" : undefined}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.label} scope="col" className={c.num ? "num" : undefined}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={rowKey(r)}>
              {head && <th scope="row">{head.cell(r)}</th>}
              {rest.map((c) => (
                <td key={c.label} className={c.num ? "num" : undefined}>
                  {c.cell(r)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && empty && <p className="muted">{empty}</p>}
    </div>
  );
}
