import { Table } from "../components/Table";
import { duration, num } from "../format";
import type { VelocityReport } from "./reports";

/** Median and p75 time of each funnel interval. */
export function VelocityTable({ velocity }: { velocity: VelocityReport }) {
  return (
    <Table
      label="Velocity"
      rows={velocity.intervals}
      rowKey={(i) => i.name}
      columns={[
        { label: "Interval", cell: (i) => i.name },
        { label: "Leads", num: true, cell: (i) => num(i.count) },
        { label: "Median", num: true, cell: (i) => duration(i.medianMs) },
        { label: "p75", num: true, cell: (i) => duration(i.p75Ms) },
      ]}
    />
  );
}
