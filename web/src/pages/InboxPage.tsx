import { useEffect, useState } from "react";
import { Link } from "react-router";
import { query, useApi } from "../api";
import { HandoffActions } from "../components/HandoffActions";
import { SlaCountdown } from "../components/SlaCountdown";
import { Status } from "../components/Status";
import { dateTime, num } from "../format";
import type { Handoff } from "../handoffs";
import { useUser } from "../session";

/**
 * The sales inbox: my open handoffs, soonest SLA first, each with the reason the lead qualified and
 * the actions its status allows. Admins see everyone's.
 */
const IN_PROGRESS = "accepted,converted,opportunity";

export default function InboxPage() {
  const user = useUser();
  const routing = useApi<{ spec: { rejectionReasons: Record<string, string> } }>("/api/routing");
  const reasons = Object.keys(routing.data?.spec.rejectionReasons ?? {});
  return (
    <section aria-labelledby="inbox-title">
      <div className="page-head">
        <h1 id="inbox-title">{user.role === "sales" ? "My inbox" : "Inbox (all reps)"}</h1>
      </div>
      <HandoffList
        title="Waiting for you, soonest SLA first"
        status="pending"
        empty="Nothing waiting. New MQLs routed to you show up here."
        reasons={reasons}
      />
      <HandoffList title="In progress" status={IN_PROGRESS} empty="Nothing in progress." reasons={reasons} />
    </section>
  );
}

function HandoffList(props: { title: string; status: string; empty: string; reasons: string[] }) {
  const user = useUser();
  const list = useApi<{ handoffs: Handoff[]; nextCursor: string | null }>(
    `/api/handoffs${query({ status: props.status, sort: "due", limit: 100 })}`,
  );
  const [rows, setRows] = useState<Handoff[]>([]);
  useEffect(() => setRows(list.data?.handoffs ?? []), [list.data]);
  const replace = (h: Handoff) => setRows((all) => all.map((x) => (x.id === h.id ? { ...x, ...h } : x)));
  return (
    <section aria-label={props.title} className="inbox-section">
      <h2>
        {props.title}{" "}
        <span className="muted">
          ({num(rows.length)}
          {list.data?.nextCursor ? "+" : ""})
        </span>
      </h2>
      <Status loading={list.loading} error={list.error} />
      {list.data && rows.length === 0 && <p>{props.empty}</p>}
      <ul className="inbox">
        {rows.map((h) => (
          <li key={h.id} className="card" data-testid="inbox-item" data-handoff={h.id}>
            <div className="inbox-head">
              <Link to={`/leads/${encodeURIComponent(h.leadId)}`}>
                {h.lead?.email ?? h.lead?.name ?? h.leadId}
              </Link>
              <span className={`status status-${h.status}`} data-testid="handoff-status">
                {h.status}
              </span>
              {h.status === "pending" && <SlaCountdown dueAt={h.dueAt} />}
            </div>
            <div className="muted">
              {h.handRaiser ? "hand-raiser · " : ""}
              {h.kind} {dateTime(h.mqlAt)} · grade {h.lead?.grade ?? "–"} · engagement{" "}
              {num(h.lead?.scores.engagement)} · fit {num(h.lead?.scores.fit)}
              {user.role !== "sales" && h.owner ? ` · ${h.owner.email}` : ""}
            </div>
            <p className="why-mql">Qualified because: {h.qualifiedBy ?? "–"}</p>
            <HandoffActions handoff={h} reasons={props.reasons} onChange={replace} />
          </li>
        ))}
      </ul>
    </section>
  );
}
