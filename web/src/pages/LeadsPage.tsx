import { useState } from "react";
import { Link, useSearchParams } from "react-router";
import { query, useApi } from "../api";
import { Status } from "../components/Status";
import { dateTime, num } from "../format";
import { GRADES, type LeadSummary, STAGES } from "../leads";

/**
 * The leads table: every filter and the sort live in the URL (a filtered view can be bookmarked and
 * shared); pages follow the API's cursors; the CSV export takes the same filters.
 */
const FILTERS = ["stage", "grade", "minScore", "maxScore", "owner", "channel", "q", "sort"] as const;
const FIELDS: {
  key: (typeof FILTERS)[number];
  label: string;
  type?: string;
  placeholder?: string;
  options?: readonly string[];
}[] = [
  { key: "q", label: "Search", type: "search", placeholder: "email or name" },
  { key: "stage", label: "Stage", options: STAGES },
  { key: "grade", label: "Grade", options: GRADES },
  { key: "minScore", label: "Engagement ≥", type: "number" },
  { key: "maxScore", label: "Engagement ≤", type: "number" },
  { key: "owner", label: "Owner", placeholder: "user id" },
  { key: "channel", label: "Channel", placeholder: "e.g. paid-search" },
];
const SORTABLE: { field: string; label: string }[] = [
  { field: "score", label: "Engagement" },
  { field: "mqlAt", label: "MQL at" },
  { field: "firstSeenAt", label: "First seen" },
  { field: "lastEventAt", label: "Last event" },
];

export default function LeadsPage() {
  const [params, setParams] = useSearchParams();
  // Cursors of the pages before this one, to go back.
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const filter = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) ?? undefined]));
  const sort = params.get("sort") ?? "-lastEventAt";
  const leads = useApi<{ items: LeadSummary[]; nextCursor: string | null }>(
    `/api/leads${query({ ...filter, sort, limit: 50, cursor })}`,
  );
  const set = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
    setCursors([]);
  };
  const sortBy = (field: string) => set("sort", sort === `-${field}` ? field : `-${field}`);
  const arrow = (field: string) => (sort === `-${field}` ? " ↓" : sort === field ? " ↑" : "");
  return (
    <section aria-labelledby="leads-title">
      <div className="page-head">
        <h1 id="leads-title">Leads</h1>
        <a className="button" href={`/api/leads/export.csv${query({ ...filter, sort })}`} download>
          Export CSV
        </a>
      </div>
      <form className="filters" aria-label="Filter leads" onSubmit={(e) => e.preventDefault()}>
        {FIELDS.map((f) => (
          <label key={f.key} htmlFor={`filter-${f.key}`}>
            {f.label}
            {f.options ? (
              <select
                id={`filter-${f.key}`}
                value={filter[f.key] ?? ""}
                onChange={(e) => set(f.key, e.target.value)}
              >
                <option value="">any</option>
                {f.options.map((o) => (
                  <option key={o}>{o}</option>
                ))}
              </select>
            ) : (
              <input
                id={`filter-${f.key}`}
                type={f.type ?? "text"}
                className={f.type === "number" ? "narrow" : undefined}
                placeholder={f.placeholder}
                defaultValue={filter[f.key]}
                onChange={(e) => set(f.key, e.target.value)}
              />
            )}
          </label>
        ))}
      </form>
      <Status loading={leads.loading} error={leads.error} />
      <div className="table-wrap">
        <table className="leads" aria-label="Leads">
          <thead>
            <tr>
              <th scope="col">Lead</th>
              <th scope="col">Stage</th>
              <th scope="col">Grade</th>
              <th scope="col">Fit</th>
              {SORTABLE.map((s) => (
                <th
                  key={s.field}
                  scope="col"
                  aria-sort={sort === s.field ? "ascending" : sort === `-${s.field}` ? "descending" : "none"}
                >
                  <button type="button" className="link" onClick={() => sortBy(s.field)}>
                    {s.label}
                    {arrow(s.field)}
                  </button>
                </th>
              ))}
              <th scope="col">Owner</th>
            </tr>
          </thead>
          <tbody>
            {(leads.data?.items ?? []).map((l) => (
              <tr key={l.id}>
                <td>
                  <Link to={`/leads/${encodeURIComponent(l.id)}`}>
                    {l.email ?? l.name ?? l.userId ?? l.id}
                  </Link>
                </td>
                <td>
                  <span className={`stage stage-${l.stage}`}>{l.stage}</span>
                </td>
                <td>{l.grade ?? "–"}</td>
                <td className="num">{num(l.scores.fit)}</td>
                <td className="num">{num(l.scores.engagement)}</td>
                <td>{dateTime(l.mqlAt)}</td>
                <td>{dateTime(l.firstSeenAt)}</td>
                <td>{dateTime(l.lastEventAt)}</td>
                <td>{l.owner ?? "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {leads.data && leads.data.items.length === 0 && <p>No leads match.</p>}
      <div className="pager">
        <button
          type="button"
          disabled={cursors.length === 0}
          onClick={() => setCursors((c) => c.slice(0, -1))}
        >
          Previous
        </button>
        <button
          type="button"
          disabled={!leads.data?.nextCursor}
          onClick={() =>
            leads.data?.nextCursor && setCursors((c) => [...c, leads.data?.nextCursor as string])
          }
        >
          Next
        </button>
      </div>
    </section>
  );
}
