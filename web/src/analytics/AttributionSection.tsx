import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { Table } from "../components/Table";
import { num } from "../format";
import {
  ATTRIBUTION_MODELS,
  type AttributionReport,
  METRICS,
  type Metric,
  MODEL_LABELS,
  PALETTE,
} from "./reports";

const METRIC_LABELS: Record<Metric, string> = {
  lead: "Leads",
  mql: "MQLs",
  sql: "SQLs",
  opportunity: "Opportunities",
  won: "Won deals",
  revenue: "Won revenue",
};
/** Credit is fractional under linear, U- and W-shaped: one decimal, revenue in whole units. */
const credit = (metric: Metric, v: number | undefined) =>
  v === undefined ? "–" : metric === "revenue" ? num(Math.round(v)) : num(Math.round(v * 10) / 10);

/** The attribution models side by side for one metric: a chart of the top keys and a full table. */
export function AttributionSection({
  report,
  metric,
  onMetric,
}: {
  report: AttributionReport;
  metric: Metric;
  onMetric: (m: Metric) => void;
}) {
  const top = report.rows.slice(0, 8).map((r) => ({
    key: r.key,
    ...Object.fromEntries(ATTRIBUTION_MODELS.map((m) => [m, r.models[m][metric]])),
  }));
  return (
    <>
      <div className="page-head">
        <label>
          Credit for{" "}
          <select value={metric} onChange={(e) => onMetric(e.target.value as Metric)}>
            {METRICS.map((m) => (
              <option key={m} value={m}>
                {METRIC_LABELS[m]}
              </option>
            ))}
          </select>
        </label>
        <span className="muted">
          Total: {credit(metric, report.totals[metric])} {METRIC_LABELS[metric].toLowerCase()}
        </span>
      </div>
      <figure className="chart" aria-label="Attribution models side by side">
        <figcaption>
          {METRIC_LABELS[metric]} by {report.by}, under each attribution model
        </figcaption>
        <ResponsiveContainer width="100%" height={Math.max(280, 60 + top.length * 70)}>
          <BarChart data={top} layout="vertical" margin={{ left: 8, right: 16 }}>
            <CartesianGrid strokeDasharray="3 3" horizontal={false} />
            <XAxis type="number" tick={{ fontSize: 12 }} tickFormatter={(v: number) => num(v)} />
            <YAxis type="category" dataKey="key" tick={{ fontSize: 12 }} width={130} interval={0} />
            <Tooltip formatter={(v) => credit(metric, Number(v))} />
            <Legend verticalAlign="top" height={28} itemSorter={null} />
            {ATTRIBUTION_MODELS.map((m, i) => (
              <Bar key={m} isAnimationActive={false} dataKey={m} name={MODEL_LABELS[m]} fill={PALETTE[i]} />
            ))}
          </BarChart>
        </ResponsiveContainer>
      </figure>
      <Table
        label={`Attribution of ${METRIC_LABELS[metric].toLowerCase()}`}
        rows={report.rows}
        rowKey={(r) => r.key}
        columns={[
          { label: report.by, cell: (r) => r.key },
          ...ATTRIBUTION_MODELS.map((m) => ({
            label: MODEL_LABELS[m],
            num: true,
            cell: (r: AttributionReport["rows"][number]) => credit(metric, r.models[m][metric]),
          })),
        ]}
      />
    </>
  );
}
