import type { ReactNode } from "react";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { PALETTE } from "../analytics/reports";
import { Kpi } from "../components/Kpi";
import { Table } from "../components/Table";
import { num, pct } from "../format";
import { type SequenceReport, type Step, stepRows } from "./sequences";

type StepRow = ReturnType<typeof stepRows>[number];
/** What a step's email did; empty for the other steps. */
const EMAIL_COLUMNS: { label: string; cell: (r: StepRow) => ReactNode }[] = [
  { label: "Sent", cell: (r) => num(r.sent) },
  {
    label: "Opened",
    cell: (r) => (
      <>
        {num(r.opened)} <span className="muted">{pct(r.openRate)}</span>
      </>
    ),
  },
  {
    label: "Clicked",
    cell: (r) => (
      <>
        {num(r.clicked)} <span className="muted">{pct(r.clickRate)}</span>
      </>
    ),
  },
  { label: "Unsubscribed", cell: (r) => num(r.unsubscribed) },
  { label: "Bounced or failed", cell: (r) => num(r.bounced) },
  { label: "Queued", cell: (r) => num(r.queued) },
];
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** A sequence's numbers: enrollments, then by step who is there and what its email did. */
export function SequenceReportView({ report, steps }: { report: SequenceReport; steps: Step[] }) {
  const rows = stepRows(report, steps);
  const emails = rows.filter((r) => r.isEmail);
  const sent = sum(emails.map((r) => r.sent));
  const e = report.enrollments;
  return (
    <>
      <div className="kpis">
        <Kpi
          label="Enrolled"
          value={num(e.active + e.completed + e.exited)}
          hint={`${num(e.active)} active`}
        />
        <Kpi label="Emails sent" value={num(sent)} />
        <Kpi label="Open rate" value={pct(sent ? sum(emails.map((r) => r.opened)) / sent : null)} />
        <Kpi label="Click rate" value={pct(sent ? sum(emails.map((r) => r.clicked)) / sent : null)} />
        <Kpi label="Unsubscribes" value={num(sum(emails.map((r) => r.unsubscribed)))} />
      </div>
      <figure className="chart" aria-label="Emails by step">
        <figcaption>Each email: sent, opened, clicked, unsubscribed</figcaption>
        <ResponsiveContainer width="100%" height={260}>
          <BarChart data={emails} margin={{ left: 8, right: 16 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="step" tick={{ fontSize: 12 }} interval={0} />
            <YAxis tick={{ fontSize: 12 }} width={56} padding={{ top: 12 }} />
            <Tooltip />
            <Legend verticalAlign="top" height={28} itemSorter={null} />
            <Bar isAnimationActive={false} dataKey="sent" name="sent" fill={PALETTE[0]} />
            <Bar isAnimationActive={false} dataKey="opened" name="opened" fill={PALETTE[2]} />
            <Bar isAnimationActive={false} dataKey="clicked" name="clicked" fill={PALETTE[3]} />
            <Bar isAnimationActive={false} dataKey="unsubscribed" name="unsubscribed" fill={PALETTE[1]} />
          </BarChart>
        </ResponsiveContainer>
      </figure>
      <Table
        label="Counts by step"
        rows={rows}
        rowKey={(r) => r.step}
        columns={[
          { label: "Step", cell: (r) => r.step },
          { label: "Does", cell: (r) => r.kind },
          { label: "Active here", num: true, cell: (r) => num(r.active) },
          ...EMAIL_COLUMNS.map((c) => ({
            ...c,
            num: true,
            cell: (r: StepRow) => (r.isEmail ? c.cell(r) : ""),
          })),
        ]}
      />
      <p className="muted">
        Ended:{" "}
        {Object.entries(report.exitReasons)
          .map(([reason, n]) => `${reason} ${num(n)}`)
          .join(" · ") || "none yet"}
        . Opened counts an email whose pixel loaded or whose link was clicked (images are often blocked);
        clicks flagged as a mail scanner's are left out.
      </p>
    </>
  );
}
