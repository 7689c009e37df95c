import { useEffect, useState } from "react";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api, useApi, useAttempt } from "../api";
import { Alert, Status } from "../components/Status";
import { ProblemList, useServerCheck, YamlEditor } from "../components/YamlEditor";
import { dateTime, monthDay, num, pct } from "../format";

/**
 * Models (marketers, admins): the active model and its history; a YAML editor checked by the server
 * as you type; a backtest of the draft against the live model; a capacity slider over the
 * thresholds; and publishing, after its preview. Any stored version opens as the draft, to backtest
 * it against the live one.
 */
interface StoredModel {
  version: number;
  name: string;
  active: boolean;
  createdAt: string;
  publishedAt: string | null;
  publishedBy: string | null;
}
interface ModelResult {
  label: string;
  mqls: number;
  byWeek: { week: string; mqls: number }[];
  precision: { rate: number | null };
  recall: { outcomes: number; qualified: number; rate: number | null };
  handoff: { salRate: number | null; unobservable: number };
  leadTime: { medianDays: number | null };
  vsLive: { adds: number; drops: number };
}
interface Backtest {
  leads: number;
  events: number;
  live: ModelResult;
  models: ModelResult[];
}
interface CapacityPoint {
  factor: number;
  thresholds: number[];
  mqlsPerWeek: number;
  precision: number | null;
  recall: number | null;
}
interface Capacity {
  current: CapacityPoint;
  suggested: CapacityPoint | null;
  curve: CapacityPoint[];
  model: string | null;
}
interface Preview {
  newlyQualifying: number;
  newlyQualifyingActive: number;
  noLongerQualifying: number;
  leads: number;
}

export default function ModelsPage() {
  const models = useApi<StoredModel[]>("/api/models");
  const active = models.data?.find((m) => m.active) ?? null;
  const activeSource = useApi<{ source: string }>(active ? `/api/models/${active.version}` : null);
  const [draft, setDraft] = useState<string | null>(null);
  const { problems, check } = useServerCheck("/api/models/check");
  const opening = useAttempt();
  useEffect(() => {
    if (draft === null && activeSource.data) setDraft(activeSource.data.source);
  }, [draft, activeSource.data]);
  return (
    <section aria-labelledby="models-title">
      <div className="page-head">
        <h1 id="models-title">Models</h1>
        {active && (
          <span>
            live: <strong>{active.name}</strong> v{active.version}, published {dateTime(active.publishedAt)}{" "}
            by {active.publishedBy ?? "–"}
          </span>
        )}
      </div>
      <Status loading={models.loading} error={models.error} />
      <div className="columns">
        <div>
          <section aria-labelledby="draft-title" className="card">
            <h2 id="draft-title">Draft</h2>
            {draft !== null && (
              <YamlEditor value={draft} onChange={setDraft} check={check} label="Model YAML" />
            )}
            <ProblemList problems={problems} what="model" />
          </section>
          {draft !== null && <BacktestPanel draft={draft} disabled={problems.length > 0} />}
        </div>
        <div>
          {draft !== null && <CapacityPanel draft={draft} disabled={problems.length > 0} onUse={setDraft} />}
          {draft !== null && (
            <PublishPanel draft={draft} disabled={problems.length > 0} onPublished={models.reload} />
          )}
          <section aria-labelledby="history-title" className="card">
            <h2 id="history-title">Versions</h2>
            <table className="wrap">
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">Name</th>
                  <th scope="col">Stored</th>
                  <th scope="col">Published</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {[...(models.data ?? [])].reverse().map((m) => (
                  <tr key={m.version}>
                    <td>
                      v{m.version}
                      {m.active ? " (live)" : ""}
                    </td>
                    <td>{m.name}</td>
                    <td>{dateTime(m.createdAt)}</td>
                    <td>{m.publishedAt ? `${dateTime(m.publishedAt)} by ${m.publishedBy ?? "–"}` : "–"}</td>
                    <td>
                      <button
                        type="button"
                        className="link"
                        aria-label={`Open v${m.version} as the draft`}
                        onClick={() =>
                          opening.attempt(async () =>
                            setDraft(
                              (await api<{ source: string }>("GET", `/api/models/${m.version}`)).source,
                            ),
                          )
                        }
                      >
                        Open as draft
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <Alert message={opening.error} />
          </section>
        </div>
      </div>
    </section>
  );
}

function BacktestPanel({ draft, disabled }: { draft: string; disabled: boolean }) {
  const [result, setResult] = useState<Backtest | null>(null);
  const { busy, error, attempt } = useAttempt();
  const run = () =>
    attempt(async () =>
      setResult(
        await api<Backtest>("POST", "/api/lab/backtest", { models: [{ source: draft, label: "draft" }] }),
      ),
    );
  const live = result?.live;
  const mine = result?.models[0];
  const weeks = new Map<string, { week: string; live: number; draft: number }>();
  for (const w of live?.byWeek ?? []) weeks.set(w.week, { week: w.week, live: w.mqls, draft: 0 });
  for (const w of mine?.byWeek ?? [])
    weeks.set(w.week, { ...(weeks.get(w.week) ?? { week: w.week, live: 0, draft: 0 }), draft: w.mqls });
  const rows: [string, (r: ModelResult) => string][] = [
    ["MQLs", (r) => num(r.mqls)],
    ["Precision (reached opportunity)", (r) => pct(r.precision.rate)],
    [
      "Recall of opportunities",
      (r) => `${pct(r.recall.rate)} (${num(r.recall.qualified)}/${num(r.recall.outcomes)})`,
    ],
    ["SAL rate (where observable)", (r) => pct(r.handoff.salRate)],
    ["Median lead time vs live (days)", (r) => num(r.leadTime.medianDays)],
    ["Adds / drops vs live", (r) => `${num(r.vsLive.adds)} / ${num(r.vsLive.drops)}`],
  ];
  return (
    <section aria-labelledby="backtest-title" className="card">
      <h2 id="backtest-title">Backtest (last 90 days)</h2>
      <button type="button" onClick={() => void run()} disabled={busy || disabled}>
        {busy ? "Replaying history…" : "Backtest the draft against live"}
      </button>
      <Alert message={error} />
      {live && mine && (
        <>
          <p className="muted">
            {num(result.leads)} leads, {num(result.events)} stored events replayed.
          </p>
          <figure className="chart" aria-label="MQLs per week, live and draft">
            <ResponsiveContainer width="100%" height={220}>
              <BarChart
                data={[...weeks.values()]
                  .sort((a, b) => (a.week < b.week ? -1 : 1))
                  .map((w) => ({ ...w, week: monthDay(w.week) }))}
                margin={{ left: 8, right: 8 }}
              >
                <CartesianGrid strokeDasharray="3 3" vertical={false} />
                <XAxis dataKey="week" tick={{ fontSize: 11 }} minTickGap={16} padding={{ left: 8 }} />
                <YAxis tick={{ fontSize: 12 }} width={40} padding={{ top: 12 }} />
                <Tooltip />
                <Legend verticalAlign="top" height={28} itemSorter={null} />
                <Bar isAnimationActive={false} dataKey="live" name="live" fill="#a5b1c2" />
                <Bar isAnimationActive={false} dataKey="draft" name="draft" fill="#3867d6" />
              </BarChart>
            </ResponsiveContainer>
          </figure>
          <table aria-label="Backtest comparison">
            <thead>
              <tr>
                <th scope="col">Measure</th>
                <th scope="col">Live</th>
                <th scope="col">Draft</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(([name, f]) => (
                <tr key={name}>
                  <th scope="row">{name}</th>
                  <td className="num">{f(live)}</td>
                  <td className="num">{f(mine)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function CapacityPanel({
  draft,
  disabled,
  onUse,
}: {
  draft: string;
  disabled: boolean;
  onUse: (yaml: string) => void;
}) {
  const [capacity, setCapacity] = useState(60);
  const [report, setReport] = useState<Capacity | null>(null);
  const [at, setAt] = useState(0);
  const { busy, error, attempt } = useAttempt();
  const call = (perWeek: number) =>
    api<Capacity>("POST", "/api/lab/capacity", { model: { source: draft }, capacity: perWeek });
  const run = () =>
    attempt(async () => {
      const r = await call(capacity);
      setReport(r);
      setAt(Math.max(0, r.curve.indexOf(r.curve.find((p) => p.factor === r.suggested?.factor) ?? r.current)));
    });
  const point = report?.curve[at];
  const use = () =>
    attempt(async () => {
      if (!point) return;
      // The server rewrites the YAML: the lowest thresholds within this point's weekly MQLs are its own.
      const r = await call(point.mqlsPerWeek + 1e-9);
      if (r.model) onUse(r.model);
    });
  return (
    <section aria-labelledby="capacity-title" className="card">
      <h2 id="capacity-title">Thresholds for sales capacity</h2>
      <label>
        MQLs per week sales can take{" "}
        <input
          type="number"
          className="narrow"
          min={1}
          value={capacity}
          onChange={(e) => setCapacity(Number(e.target.value))}
        />
      </label>{" "}
      <button type="button" onClick={() => void run()} disabled={busy || disabled}>
        {busy ? "Backtesting thresholds…" : "Suggest thresholds"}
      </button>
      <Alert message={error} />
      {report && point && (
        <div className="capacity">
          <label htmlFor="threshold-slider">Thresholds ×{point.factor.toFixed(1)}</label>
          <input
            id="threshold-slider"
            type="range"
            min={0}
            max={report.curve.length - 1}
            value={at}
            onChange={(e) => setAt(Number(e.target.value))}
          />
          <table aria-label="At these thresholds">
            <thead>
              <tr>
                <th scope="col" />
                <th scope="col">Current</th>
                <th scope="col">Selected</th>
              </tr>
            </thead>
            <tbody>
              <tr>
                <th scope="row">Thresholds</th>
                <td>{report.current.thresholds.join(", ")}</td>
                <td data-testid="selected-thresholds">{point.thresholds.join(", ")}</td>
              </tr>
              <tr>
                <th scope="row">MQLs per week</th>
                <td className="num">{num(Math.round(report.current.mqlsPerWeek * 10) / 10)}</td>
                <td className="num">{num(Math.round(point.mqlsPerWeek * 10) / 10)}</td>
              </tr>
              <tr>
                <th scope="row">Precision</th>
                <td className="num">{pct(report.current.precision)}</td>
                <td className="num">{pct(point.precision)}</td>
              </tr>
              <tr>
                <th scope="row">Recall</th>
                <td className="num">{pct(report.current.recall)}</td>
                <td className="num">{pct(point.recall)}</td>
              </tr>
            </tbody>
          </table>
          <p className="muted">
            {report.suggested
              ? `Suggested for ${capacity}/week: ×${report.suggested.factor.toFixed(1)}.`
              : `Even the highest thresholds tried exceed ${capacity}/week.`}
          </p>
          <button type="button" onClick={() => void use()}>
            Put these thresholds in the draft
          </button>
        </div>
      )}
    </section>
  );
}

function PublishPanel({
  draft,
  disabled,
  onPublished,
}: {
  draft: string;
  disabled: boolean;
  onPublished: () => void;
}) {
  const [stored, setStored] = useState<{ version: number; preview: Preview } | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const { busy, error, attempt } = useAttempt();
  const save = () =>
    attempt(async () => {
      setMessage(null);
      const r = await api<{ model: { version: number }; preview: Preview }>("POST", "/api/models", {
        source: draft,
      });
      setStored({ version: r.model.version, preview: r.preview });
      onPublished();
    });
  const publish = () =>
    attempt(async () => {
      if (!stored) return;
      const r = await api<{ rescored: number; newlyQualified: number }>(
        "POST",
        `/api/models/${stored.version}/publish`,
        { confirm: true },
      );
      setMessage(
        `v${stored.version} is live: ${num(r.rescored)} leads rescored, ${num(r.newlyQualified)} newly qualified.`,
      );
      setStored(null);
      onPublished();
    });
  return (
    <section aria-labelledby="publish-title" className="card">
      <h2 id="publish-title">Publish</h2>
      <button type="button" onClick={() => void save()} disabled={busy || disabled}>
        Save the draft and preview
      </button>
      {stored && (
        <div data-testid="publish-preview">
          <p>
            v{stored.version} would newly qualify <strong>{num(stored.preview.newlyQualifying)}</strong> of{" "}
            {num(stored.preview.leads)} leads ({num(stored.preview.newlyQualifyingActive)} active recently,
            who would become MQLs now); {num(stored.preview.noLongerQualifying)} current MQLs would not have
            qualified under it (they stay MQLs).
          </p>
          <button type="button" onClick={() => void publish()} disabled={busy}>
            Publish v{stored.version} and rescore every lead
          </button>
        </div>
      )}
      {message && <p role="status">{message}</p>}
      <Alert message={error} />
    </section>
  );
}
