import { Table } from "../components/Table";
import { num, pct } from "../format";
import type { PathRow, PathsReport } from "./reports";

const pathTable = (label: string, rows: PathRow[], outcome: string) => (
  <Table
    label={label}
    wrap
    rows={rows}
    rowKey={(r) => r.path.join(">")}
    empty="No paths in this range."
    columns={[
      { label: "Path", cell: (r) => r.path.join(" → ") },
      { label: "Leads", num: true, cell: (r) => num(r.leads) },
      { label: outcome, num: true, cell: (r) => num(r.converted) },
      { label: "Rate", num: true, cell: (r) => pct(r.rate) },
    ]}
  />
);

/** The most frequent touchpoint sequences before MQL and before won, with how often they convert. */
export function PathsSection({ paths }: { paths: PathsReport }) {
  return (
    <div className="columns">
      <div>
        <h3>Before MQL ({num(paths.leads)} leads)</h3>
        {pathTable("Conversion paths before MQL", paths.beforeMql, "MQLs")}
      </div>
      <div>
        <h3>Before won ({num(paths.mqls)} MQLs)</h3>
        {pathTable("Conversion paths before won", paths.beforeWon, "Won")}
      </div>
    </div>
  );
}
