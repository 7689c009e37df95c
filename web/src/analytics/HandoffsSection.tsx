import { Table } from "../components/Table";
import { num, pct } from "../format";
import type { HandoffsReport, SlaRow } from "./reports";

const slaTable = (by: string, rows: SlaRow[]) => (
  <Table
    label={`SLA compliance by ${by}`}
    rows={rows}
    rowKey={(r) => r.key ?? "(none)"}
    columns={[
      { label: by, cell: (r) => r.key ?? "(none)" },
      { label: "Handoffs", num: true, cell: (r) => num(r.handoffs) },
      { label: "Met", num: true, cell: (r) => num(r.met) },
      { label: "Missed", num: true, cell: (r) => num(r.missed) },
      { label: "Compliance", num: true, cell: (r) => pct(r.compliance) },
    ]}
  />
);

/** The handoff's accountability: SLA compliance per team and owner, and why sales rejected MQLs. */
export function HandoffsSection({ report }: { report: HandoffsReport }) {
  return (
    <div className="columns">
      <div>
        {slaTable("team", report.byTeam)}
        {slaTable("owner", report.byOwner)}
      </div>
      <Table
        label="Rejection reasons"
        rows={report.rejections}
        rowKey={(r) => r.reason}
        empty="No rejections in this range."
        columns={[
          { label: "Rejected because", cell: (r) => r.reason },
          { label: "MQLs", num: true, cell: (r) => num(r.count) },
          { label: "Share", num: true, cell: (r) => pct(r.share) },
        ]}
      />
    </div>
  );
}
