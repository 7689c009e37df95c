import { useSearchParams } from "react-router";
import {
  Bar,
  BarChart,
  CartesianGrid,
  ComposedChart,
  Legend,
  Line,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import {
  type FunnelReport,
  type HandoffsReport,
  stageCount,
  type VelocityReport,
} from "../analytics/reports";
import { query, useApi } from "../api";
import { Kpi } from "../components/Kpi";
import { PeriodSelect } from "../components/PeriodSelect";
import { Status } from "../components/Status";
import { duration, lastDays, monthDay, num, pct } from "../format";

const count = (f: FunnelReport | null, stage: string) => stageCount(f?.total, stage);

export default function OverviewPage() {
  const [params, setParams] = useSearchParams();
  const days = Number(params.get("days") ?? 90);
  const range = query(lastDays(days));
  const funnel = useApi<FunnelReport>(`/api/analytics/funnel${range}`);
  const channels = useApi<FunnelReport>(`/api/analytics/funnel${range}&by=channel`);
  const velocity = useApi<VelocityReport>(`/api/analytics/velocity${range}`);
  const handoffs = useApi<HandoffsReport>(`/api/analytics/handoffs${range}`);
  const f = funnel.data;
  const mqls = count(f, "mql");
  const topChannels = (channels.data?.groups ?? [])
    .map((g) => ({
      channel: g.key,
      leads: stageCount(g.stages, "lead"),
      mqls: stageCount(g.stages, "mql"),
    }))
    .sort((a, b) => b.mqls - a.mqls)
    .slice(0, 8);
  return (
    <section aria-labelledby="overview-title">
      <div className="page-head">
        <h1 id="overview-title">Overview</h1>
        <PeriodSelect days={days} onChange={(d) => setParams({ days: d })} />
      </div>
      <Status loading={funnel.loading} error={funnel.error ?? handoffs.error} />
      <div className="kpis" data-testid="kpis">
        <Kpi label="New leads" value={num(count(f, "lead"))} />
        <Kpi label="MQLs" value={num(mqls)} />
        <Kpi label="Re-MQLs" value={num(handoffs.data?.recycling.reMqls)} />
        <Kpi label="MQL → SQL" value={pct(mqls ? count(f, "sql") / mqls : null)} />
        <Kpi
          label="SLA compliance"
          value={pct(handoffs.data?.sla.compliance)}
          hint={`${num(handoffs.data?.sla.handoffs)} handoffs`}
        />
        <Kpi
          label="Median lead → MQL"
          value={duration(velocity.data?.intervals.find((i) => i.name === "lead → MQL")?.medianMs)}
        />
      </div>
      <div className="charts">
        <figure className="chart" aria-label="Funnel">
          <figcaption>Funnel</figcaption>
          <ResponsiveContainer width="100%" height={260}>
            <BarChart data={f?.total ?? []} layout="vertical" margin={{ left: 8, right: 16 }}>
              <CartesianGrid strokeDasharray="3 3" horizontal={false} />
              <XAxis type="number" tick={{ fontSize: 12 }} />
              <YAxis type="category" dataKey="stage" tick={{ fontSize: 12 }} width={96} interval={0} />
              <Tooltip />
              <Bar isAnimationActive={false} dataKey="count" name="leads" fill="#3867d6" />
            </BarChart>
          </ResponsiveContainer>
        </figure>
        <figure className="chart" aria-label="MQLs per week against capacity">
          <figcaption>MQLs per week against sales capacity</figcaption>
          <ResponsiveContainer width="100%" height={260}>
            <ComposedChart
              data={(handoffs.data?.weekly ?? []).map((w) => ({ ...w, week: monthDay(w.week) }))}
              margin={{ left: 8, right: 8 }}
            >
              <CartesianGrid strokeDasharray="3 3" vertical={false} />
              <XAxis dataKey="week" tick={{ fontSize: 11 }} minTickGap={16} padding={{ left: 8 }} />
              <YAxis tick={{ fontSize: 12 }} width={48} padding={{ top: 12 }} />
              <Tooltip />
              <Legend verticalAlign="top" height={28} itemSorter={null} />
              <Bar isAnimationActive={false} dataKey="mqls" name="MQLs" stackId="m" fill="#3867d6" />
              <Bar isAnimationActive={false} dataKey="reMqls" name="re-MQLs" stackId="m" fill="#a5b1c2" />
              <Line
                isAnimationActive={false}
                dataKey="capacity"
                name="capacity"
                stroke="#eb3b5a"
                dot={false}
                strokeWidth={2}
              />
            </ComposedChart>
          </ResponsiveContainer>
        </figure>
        <figure className="chart" aria-label="Top channels">
          <figcaption>Top channels by MQLs</figcaption>
          <ResponsiveContainer width="100%" height={260}>
            <BarChart data={topChannels} layout="vertical" margin={{ left: 8, right: 8 }}>
              <CartesianGrid strokeDasharray="3 3" horizontal={false} />
              <XAxis type="number" tick={{ fontSize: 12 }} />
              <YAxis type="category" dataKey="channel" tick={{ fontSize: 12 }} width={120} />
              <Tooltip />
              <Legend verticalAlign="top" height={28} itemSorter={null} />
              <Bar isAnimationActive={false} dataKey="leads" name="leads" fill="#a5b1c2" />
              <Bar isAnimationActive={false} dataKey="mqls" name="MQLs" fill="#3867d6" />
            </BarChart>
          </ResponsiveContainer>
        </figure>
      </div>
    </section>
  );
}
