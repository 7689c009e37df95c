import { Link } from "react-router";
import { query, useApi } from "../api";
import { Status } from "../components/Status";
import { Table } from "../components/Table";
import { dateTime } from "../format";
import type { EnrollmentRow } from "./sequences";

/** The leads in a sequence, newest first, by status. */
export function EnrollmentsTable({
  sequence,
  status,
  onStatus,
}: {
  sequence: string;
  status: string;
  onStatus: (s: string) => void;
}) {
  const list = useApi<{ enrollments: EnrollmentRow[] }>(
    `/api/sequences/${encodeURIComponent(sequence)}/enrollments${query({ status, limit: 50 })}`,
  );
  return (
    <>
      <div className="page-head">
        <h2>Enrolled leads</h2>
        <label>
          Status{" "}
          <select value={status} onChange={(e) => onStatus(e.target.value)}>
            <option value="">any</option>
            <option>active</option>
            <option>completed</option>
            <option>exited</option>
          </select>
        </label>
      </div>
      <Status loading={list.loading} error={list.error} />
      <Table
        label="Enrolled leads"
        rows={list.data?.enrollments ?? []}
        rowKey={(e) => e.id}
        empty={list.loading ? "" : "No leads here."}
        columns={[
          {
            label: "Lead",
            cell: (e) => <Link to={`/leads/${encodeURIComponent(e.leadId)}`}>{e.email ?? e.leadId}</Link>,
          },
          { label: "Status", cell: (e) => <span className="status">{e.status}</span> },
          { label: "Step", cell: (e) => (e.status === "active" ? e.step : "–") },
          { label: "Entered", cell: (e) => dateTime(e.enteredAt) },
          {
            label: "Next step or ended",
            cell: (e) =>
              e.status === "active"
                ? dateTime(e.nextRunAt)
                : `${dateTime(e.exitedAt)}${e.exitReason ? `: ${e.exitReason}` : ""}`,
          },
        ]}
      />
    </>
  );
}
