import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { Table } from "../components/Table";
import { monthDay, num, pct } from "../format";
import { type FunnelReport, PALETTE, type StageCount, stageCount } from "./reports";

const STAGES = ["visitor", "lead", "mql", "sal", "sql", "opportunity", "customer"];
/** The stage-to-stage rates a breakdown compares. */
const RATES: [string, string][] = [
  ["lead", "mql"],
  ["mql", "sql"],
  ["sql", "customer"],
];
const rate = (stages: FunnelReport["total"], from: string, to: string) => {
  const n = stageCount(stages, from);
  return n ? stageCount(stages, to) / n : null;
};

/** A group's name: a cohort's week or month, or the breakdown's key. */
export const groupName = (f: FunnelReport, key: string | null) =>
  key === null ? "(none)" : f.view === "cohort" ? monthDay(key) : key;

/**
 * The funnel: counts by stage, and with a breakdown (or by cohort) each group's counts and
 * conversion rates, as a chart and a table.
 */
export function FunnelSection({ funnel, by }: { funnel: FunnelReport; by: string | null }) {
  const groups = funnel.groups.map((g) => ({
    name: groupName(funnel, g.key),
    stages: g.stages,
    ...Object.fromEntries(RATES.map(([a, b]) => [`${a}→${b}`, rate(g.stages, a, b)])),
  }));
  const percent = (v: unknown) => pct(typeof v === "number" ? v : null);
  return (
    <>
      <div className="charts">
        <figure className="chart" aria-label="Funnel by stage">
          <figcaption>Funnel ({num(funnel.leads)} leads)</figcaption>
          <ResponsiveContainer width="100%" height={260}>
            <BarChart data={funnel.total} layout="vertical" margin={{ left: 8, right: 16 }}>
              <CartesianGrid strokeDasharray="3 3" horizontal={false} />
              <XAxis type="number" tick={{ fontSize: 12 }} />
              <YAxis type="category" dataKey="stage" tick={{ fontSize: 12 }} width={96} interval={0} />
              <Tooltip />
              <Bar isAnimationActive={false} dataKey="count" name="leads" fill={PALETTE[0]} />
            </BarChart>
          </ResponsiveContainer>
        </figure>
        {groups.length > 0 && (
          <figure className="chart" aria-label="Conversion rates by group">
            <figcaption>Conversion rates by {funnel.view === "cohort" ? "cohort" : by}</figcaption>
            <ResponsiveContainer width="100%" height={Math.max(260, 40 + groups.length * 42)}>
              <BarChart data={groups} layout="vertical" margin={{ left: 8, right: 16 }}>
                <CartesianGrid strokeDasharray="3 3" horizontal={false} />
                <XAxis type="number" tick={{ fontSize: 12 }} tickFormatter={percent} domain={[0, 1]} />
                <YAxis type="category" dataKey="name" tick={{ fontSize: 12 }} width={130} interval={0} />
                <Tooltip formatter={percent} />
                <Legend verticalAlign="top" height={28} itemSorter={null} />
                {RATES.map(([a, b], i) => (
                  <Bar
                    key={`${a}→${b}`}
                    isAnimationActive={false}
                    dataKey={`${a}→${b}`}
                    name={`${a} → ${b}`}
                    fill={PALETTE[i]}
                  />
                ))}
              </BarChart>
            </ResponsiveContainer>
          </figure>
        )}
      </div>
      <Table
        label="Funnel counts and stage-to-stage rates"
        rows={[{ name: "All", stages: funnel.total }, ...groups]}
        rowKey={(g) => g.name}
        columns={[
          { label: funnel.view === "cohort" ? "Cohort" : (by ?? "Stage counts"), cell: (g) => g.name },
          ...STAGES.map((s) => ({
            label: s,
            num: true,
            cell: (g: { stages: StageCount[] }) => {
              const c = g.stages.find((x) => x.stage === s);
              return (
                <>
                  {num(c?.count ?? 0)}
                  {c?.rate !== null && c?.rate !== undefined && <span className="muted"> {pct(c.rate)}</span>}
                </>
              );
            },
          })),
        ]}
      />
    </>
  );
}
