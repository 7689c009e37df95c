import { useState } from "react";
import { useParams } from "react-router";
import {
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import { api, query, useApi, useAttempt } from "../api";
import { HandoffActions } from "../components/HandoffActions";
import { SlaCountdown } from "../components/SlaCountdown";
import { Alert, Status } from "../components/Status";
import { dateTime, monthDay, num } from "../format";
import type { Handoff } from "../handoffs";
import type { LeadSummary } from "../leads";

interface LeadDetail extends LeadSummary {
  traits: Record<string, unknown>;
  account: { id: string; domain: string | null; traits: Record<string, unknown>; source: string } | null;
  allowedFacts: string[];
  history: { from: string; to: string; at: string; actor: string; by: string | null; reason: string }[];
  handoffs: Handoff[];
}
interface Contribution {
  group: string;
  rule: string;
  kind: string;
  label?: string;
  at?: string;
  eventId?: string;
  raw: number;
  factor: number;
  points: number;
}
interface Explain {
  at: string;
  stage: string;
  scores: Record<string, number>;
  qualification: { status: string; reason: string };
  contributions: Contribution[];
}
interface ScoreHistory {
  thresholds: { group: string; value: number }[];
  series: { at: string; scores: Record<string, number> }[];
}
interface TimelineItem {
  seq: number;
  messageId: string;
  at: string;
  type: string;
  event?: string;
  name?: string;
  points: number;
  rules: { group: string; rule: string; points: number }[];
}
interface Nurture {
  enrollments: {
    id: string;
    sequence: string;
    status: string;
    step: string | null;
    enteredAt: string;
    exitReason: string | null;
  }[];
}

const COLORS = ["#3867d6", "#20bf6b", "#fa8231", "#8854d0"];
const round = (n: number) => Math.round(n * 100) / 100;
const flat = (o: Record<string, unknown>, prefix = ""): [string, string][] =>
  Object.entries(o).flatMap(([k, v]) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? flat(v as Record<string, unknown>, `${prefix}${k}.`)
      : [[`${prefix}${k}`, Array.isArray(v) ? v.join(", ") : String(v)] as [string, string]],
  );

export default function LeadProfilePage() {
  const { id = "" } = useParams();
  const base = `/api/leads/${encodeURIComponent(id)}`;
  const lead = useApi<LeadDetail>(base);
  const explain = useApi<Explain>(`${base}/explain`);
  const history = useApi<ScoreHistory>(`${base}/score-history`);
  const nurture = useApi<Nurture>(`${base}/nurture`);
  const l = lead.data;
  return (
    <section aria-labelledby="lead-title">
      <Status loading={lead.loading} error={lead.error} />
      {l && (
        <>
          <div className="page-head">
            <h1 id="lead-title">{l.email ?? l.name ?? l.id}</h1>
            <span className={`stage stage-${l.stage}`} data-testid="lead-stage">
              {l.stage}
            </span>
            <span>grade {l.grade ?? "–"}</span>
          </div>
          <StageMoves
            id={id}
            facts={l.allowedFacts}
            onDone={() => {
              lead.reload();
              explain.reload();
            }}
          />
          <div className="columns">
            <div>
              <Why explain={explain.data} />
              <ScoreChart data={history.data} />
              <Timeline base={base} />
            </div>
            <div>
              <Handoffs handoffs={l.handoffs} />
              <section aria-labelledby="traits-title" className="card">
                <h2 id="traits-title">Traits</h2>
                <dl className="traits">
                  {flat(l.traits).map(([k, v]) => (
                    <div key={k}>
                      <dt>{k}</dt>
                      <dd>{v}</dd>
                    </div>
                  ))}
                </dl>
                <h3>Account</h3>
                {l.account ? (
                  <dl className="traits">
                    <div>
                      <dt>account</dt>
                      <dd>
                        {l.account.domain ?? l.account.id} ({l.account.source})
                      </dd>
                    </div>
                    {flat(l.account.traits).map(([k, v]) => (
                      <div key={k}>
                        <dt>{k}</dt>
                        <dd>{v}</dd>
                      </div>
                    ))}
                  </dl>
                ) : (
                  <p>No account.</p>
                )}
              </section>
              <section aria-labelledby="history-title" className="card">
                <h2 id="history-title">Stage history</h2>
                <ol className="history">
                  {l.history.map((h) => (
                    <li key={`${h.at}-${h.to}`}>
                      <strong>
                        {h.from} → {h.to}
                      </strong>{" "}
                      {dateTime(h.at)} by {h.by ?? h.actor}
                      <div className="muted">{h.reason}</div>
                    </li>
                  ))}
                </ol>
              </section>
              <section aria-labelledby="nurture-title" className="card">
                <h2 id="nurture-title">Nurture</h2>
                {(nurture.data?.enrollments ?? []).length === 0 ? (
                  <p>Not enrolled.</p>
                ) : (
                  <ul>
                    {nurture.data?.enrollments.map((e) => (
                      <li key={e.id}>
                        {e.sequence}: {e.status}
                        {e.step ? ` at ${e.step}` : ""} since {dateTime(e.enteredAt)}
                        {e.exitReason ? ` (${e.exitReason})` : ""}
                      </li>
                    ))}
                  </ul>
                )}
              </section>
            </div>
          </div>
        </>
      )}
    </section>
  );
}

/** Buttons for the stage facts the lead's stage allows; a reason is asked for where it matters. */
function StageMoves({ id, facts, onDone }: { id: string; facts: string[]; onDone: () => void }) {
  const { busy, error, attempt } = useAttempt();
  const record = (fact: string) => {
    const reason = ["rejected", "lost", "disqualified", "recycled"].includes(fact)
      ? (window.prompt(`Reason for ${fact}?`) ?? undefined)
      : undefined;
    return attempt(async () => {
      await api("POST", `/api/leads/${encodeURIComponent(id)}/stage`, {
        fact,
        ...(reason ? { reason } : {}),
      });
      onDone();
    });
  };
  if (facts.length === 0) return null;
  return (
    <fieldset className="moves">
      <legend className="sr-only">Stage moves</legend>
      {facts.map((f) => (
        <button key={f} type="button" disabled={busy} onClick={() => void record(f)}>
          {f}
        </button>
      ))}
      <Alert message={error} />
    </fieldset>
  );
}

/** Every contribution with its decay, per group, adding up to the score shown. */
/** Above this many contributions in a group, rows are summed per rule until asked for all. */
const MANY = 60;

/**
 * Every contribution with its decay, per group, adding up to the score shown. A busy lead's rows
 * are summed per rule (with the decay's range) until the user asks to see each one.
 */
function Why({ explain }: { explain: Explain | null }) {
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  if (!explain) return null;
  const groups = Object.keys(explain.scores);
  return (
    <section aria-labelledby="why-title" className="card">
      <h2 id="why-title">Why this score</h2>
      <p>
        {explain.qualification.status}: {explain.qualification.reason}
      </p>
      {groups.map((g) => {
        const rows = explain.contributions.filter((c) => c.group === g);
        const summed = rows.length > MANY && !expanded.has(g);
        return (
          <div key={g} className="table-scroll">
            <table className="why" data-group={g} aria-label={`${g} contributions`}>
              <caption>
                {g}: <span data-testid={`score-${g}`}>{num(explain.scores[g])}</span>
              </caption>
              <thead>
                <tr>
                  <th scope="col">Rule</th>
                  <th scope="col">When</th>
                  <th scope="col">Points</th>
                  <th scope="col">Decay</th>
                  <th scope="col">Counts now</th>
                </tr>
              </thead>
              <tbody>
                {summed
                  ? perRule(rows).map((r) => (
                      <tr key={r.rule}>
                        <td>
                          {r.rule} ({num(r.count)}×)
                        </td>
                        <td>{r.first ? `${dateTime(r.first)} – ${dateTime(r.last)}` : "trait"}</td>
                        <td className="num">{num(round(r.raw))}</td>
                        <td className="num">
                          ×{r.minFactor.toFixed(3)}–{r.maxFactor.toFixed(3)}
                        </td>
                        <td className="num" data-points={r.points}>
                          {num(round(r.points))}
                        </td>
                      </tr>
                    ))
                  : rows.map((c) => (
                      <tr key={`${c.rule}:${c.eventId ?? ""}`}>
                        <td>
                          {c.rule}
                          {c.label ? ` (${c.label})` : ""}
                        </td>
                        <td>{c.at ? dateTime(c.at) : "trait"}</td>
                        <td className="num">{num(c.raw)}</td>
                        <td className="num">×{c.factor.toFixed(3)}</td>
                        <td className="num" data-points={c.points}>
                          {num(round(c.points))}
                        </td>
                      </tr>
                    ))}
              </tbody>
              <tfoot>
                <tr>
                  <th scope="row" colSpan={4}>
                    Total
                  </th>
                  <td className="num" data-testid={`total-${g}`}>
                    {num(round(rows.reduce((s, c) => s + c.points, 0)))}
                  </td>
                </tr>
              </tfoot>
            </table>
            {summed && (
              <button type="button" className="link" onClick={() => setExpanded(new Set([...expanded, g]))}>
                Show all {num(rows.length)} {g} contributions
              </button>
            )}
          </div>
        );
      })}
    </section>
  );
}

/** A group's contributions summed per rule: how many, when, raw points, the decay's range, points now. */
function perRule(rows: Contribution[]) {
  const by = new Map<
    string,
    {
      rule: string;
      count: number;
      first?: string;
      last?: string;
      raw: number;
      minFactor: number;
      maxFactor: number;
      points: number;
    }
  >();
  for (const c of rows) {
    const r = by.get(c.rule) ?? {
      rule: c.rule,
      count: 0,
      raw: 0,
      minFactor: c.factor,
      maxFactor: c.factor,
      points: 0,
    };
    r.count++;
    r.raw += c.raw;
    r.points += c.points;
    r.minFactor = Math.min(r.minFactor, c.factor);
    r.maxFactor = Math.max(r.maxFactor, c.factor);
    if (c.at) {
      if (!r.first || c.at < r.first) r.first = c.at;
      if (!r.last || c.at > r.last) r.last = c.at;
    }
    by.set(c.rule, r);
  }
  return [...by.values()];
}

function ScoreChart({ data }: { data: ScoreHistory | null }) {
  if (!data) return null;
  const groups = [...new Set(data.series.flatMap((p) => Object.keys(p.scores)))];
  const rows = data.series.map((p) => ({ at: monthDay(p.at), ...p.scores }));
  return (
    <figure className="chart card" aria-label="Score over time">
      <figcaption>Score over time (dashed: MQL thresholds)</figcaption>
      <ResponsiveContainer width="100%" height={240}>
        <LineChart data={rows} margin={{ left: 8, right: 16 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="at" tick={{ fontSize: 11 }} minTickGap={24} padding={{ left: 8 }} />
          <YAxis tick={{ fontSize: 12 }} width={40} padding={{ top: 12 }} />
          <Tooltip />
          <Legend verticalAlign="top" height={28} itemSorter={null} />
          {groups.map((g, i) => (
            <Line
              key={g}
              isAnimationActive={false}
              dataKey={g}
              stroke={COLORS[i % COLORS.length]}
              dot={false}
              strokeWidth={2}
            />
          ))}
          {data.thresholds.map((t) => (
            <ReferenceLine
              key={`${t.group}-${t.value}`}
              y={t.value}
              stroke={COLORS[Math.max(0, groups.indexOf(t.group)) % COLORS.length]}
              strokeDasharray="6 4"
              ifOverflow="extendDomain"
            />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}

function Handoffs({ handoffs }: { handoffs: Handoff[] }) {
  const [rows, setRows] = useState(handoffs);
  const routing = useApi<{ spec: { rejectionReasons: Record<string, string> } }>("/api/routing");
  const reasons = Object.keys(routing.data?.spec.rejectionReasons ?? {});
  return (
    <section aria-labelledby="handoffs-title" className="card">
      <h2 id="handoffs-title">Handoff</h2>
      {rows.length === 0 && <p>Not handed off.</p>}
      {rows.map((h) => (
        <div key={h.id} className="handoff">
          <div>
            <span className={`status status-${h.status}`}>{h.status}</span> {h.kind} to{" "}
            {h.owner?.email ?? h.team ?? "nobody yet"} {dateTime(h.assignedAt)}
          </div>
          {h.status === "pending" && <SlaCountdown dueAt={h.dueAt} />}
          {h.breaches > 0 && <div className="muted">SLA breached {h.breaches}×</div>}
          <HandoffActions
            handoff={h}
            reasons={reasons}
            onChange={(next) => setRows((all) => all.map((x) => (x.id === next.id ? { ...x, ...next } : x)))}
          />
        </div>
      ))}
    </section>
  );
}

function Timeline({ base }: { base: string }) {
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const [items, setItems] = useState<TimelineItem[]>([]);
  const page = useApi<{ items: TimelineItem[]; nextCursor: string | null }>(
    `${base}/events${query({ limit: 100, cursor })}`,
  );
  // Earlier pages, then this one (once per event while the next page loads).
  const shown = [...new Map([...items, ...(page.data?.items ?? [])].map((e) => [e.seq, e])).values()];
  return (
    <section aria-labelledby="timeline-title" className="card">
      <h2 id="timeline-title">Timeline</h2>
      <Status loading={page.loading} error={page.error} />
      <ol className="timeline">
        {shown.map((e) => (
          <li key={e.seq}>
            <span className="muted">{dateTime(e.at)}</span> {e.type}
            {e.event ? `: ${e.event}` : e.name ? `: ${e.name}` : ""}
            {e.points !== 0 && <span className="points"> +{num(round(e.points))} now</span>}
          </li>
        ))}
      </ol>
      {page.data?.nextCursor && (
        <button
          type="button"
          onClick={() => {
            setItems([...shown]);
            setCursor(page.data?.nextCursor ?? undefined);
          }}
        >
          Older events
        </button>
      )}
    </section>
  );
}
