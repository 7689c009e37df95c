import { useSearchParams } from "react-router";
import { AttributionSection } from "../analytics/AttributionSection";
import { FunnelSection } from "../analytics/FunnelSection";
import { HandoffsSection } from "../analytics/HandoffsSection";
import { PathsSection } from "../analytics/PathsSection";
import {
  type AttributionReport,
  type FunnelReport,
  type HandoffsReport,
  METRICS,
  type Metric,
  type PathsReport,
  type VelocityReport,
} from "../analytics/reports";
import { VelocityTable } from "../analytics/VelocityTable";
import { query, useApi } from "../api";
import { PeriodSelect } from "../components/PeriodSelect";
import { Status } from "../components/Status";
import { lastDays } from "../format";
import { GRADES } from "../leads";

/**
 * Funnel and attribution: the analytics reports as charts and tables, over one period and one set
 * of filters (all kept in the URL), with a breakdown or cohorts, the attribution models side by
 * side, velocity, and conversion paths.
 */
const BREAKDOWNS = ["channel", "source", "campaign", "owner", "team", "grade"];
const ATTRIBUTE_BY = ["channel", "source", "campaign"];

export default function FunnelPage() {
  const [params, setParams] = useSearchParams();
  const get = (k: string) => params.get(k) ?? "";
  const set = (k: string, v: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    setParams(next, { replace: true });
  };
  const days = Number(get("days") || 90);
  const view = get("view") === "cohort" ? "cohort" : "range";
  const by = get("by") || null;
  const metric = (METRICS as readonly string[]).includes(get("metric")) ? (get("metric") as Metric) : "mql";
  const range = lastDays(days);
  const filter = { ...range, channel: get("channel"), grade: get("grade"), team: get("team") };
  const channels = useApi<FunnelReport>(`/api/analytics/funnel${query({ ...range, by: "channel" })}`);
  const funnel = useApi<FunnelReport>(
    `/api/analytics/funnel${query({ ...filter, view, period: get("period") || undefined, by: view === "cohort" ? undefined : by })}`,
  );
  const velocity = useApi<VelocityReport>(`/api/analytics/velocity${query(filter)}`);
  const attribution = useApi<AttributionReport>(
    `/api/analytics/attribution${query({ ...filter, by: get("attributeBy") || "channel" })}`,
  );
  const handoffs = useApi<HandoffsReport>(`/api/analytics/handoffs${query(filter)}`);
  const paths = useApi<PathsReport>(`/api/analytics/paths${query({ ...filter, limit: 10 })}`);
  const select = (key: string, label: string, options: readonly string[], any = "any") => (
    <label htmlFor={`f-${key}`}>
      {label}
      <select id={`f-${key}`} value={get(key)} onChange={(e) => set(key, e.target.value)}>
        <option value="">{any}</option>
        {options.map((o) => (
          <option key={o}>{o}</option>
        ))}
      </select>
    </label>
  );
  return (
    <section aria-labelledby="funnel-title">
      <div className="page-head">
        <h1 id="funnel-title">Funnel and attribution</h1>
      </div>
      <form className="filters" aria-label="Report filters" onSubmit={(e) => e.preventDefault()}>
        <PeriodSelect days={days} onChange={(d) => set("days", d)} />
        {select(
          "channel",
          "First-touch channel",
          (channels.data?.groups ?? []).map((g) => g.key ?? "").filter(Boolean),
        )}
        {select("grade", "Grade", GRADES)}
        {select("team", "Team", (handoffs.data?.byTeam ?? []).map((t) => t.key ?? "").filter(Boolean))}
        {select("view", "View", ["cohort"], "date range")}
        {view === "cohort"
          ? select("period", "Cohort by", ["month"], "week")
          : select("by", "Break down by", BREAKDOWNS, "nothing")}
      </form>
      <h2>Funnel</h2>
      <Status loading={funnel.loading} error={funnel.error} />
      {funnel.data && <FunnelSection funnel={funnel.data} by={by} />}
      <h2>Velocity</h2>
      <Status loading={velocity.loading} error={velocity.error} />
      {velocity.data && <VelocityTable velocity={velocity.data} />}
      <h2>Handoffs</h2>
      <Status loading={handoffs.loading} error={handoffs.error} />
      {handoffs.data && <HandoffsSection report={handoffs.data} />}
      <div className="page-head">
        <h2>Attribution</h2>
        {select("attributeBy", "Attribute to", ATTRIBUTE_BY.slice(1), "channel")}
      </div>
      <Status loading={attribution.loading} error={attribution.error} />
      {attribution.data && (
        <AttributionSection report={attribution.data} metric={metric} onMetric={(m) => set("metric", m)} />
      )}
      <h2>Conversion paths</h2>
      <Status loading={paths.loading} error={paths.error} />
      {paths.data && <PathsSection paths={paths.data} />}
    </section>
  );
}
