import { useEffect, useState } from "react";
import { useSearchParams } from "react-router";
import { api, useApi, useAttempt } from "../api";
import { Alert, Status } from "../components/Status";
import { Table } from "../components/Table";
import { ProblemList, useServerCheck, YamlEditor } from "../components/YamlEditor";
import { dateTime } from "../format";
import { EnrollmentsTable } from "../nurture/EnrollmentsTable";
import { SequenceReportView } from "../nurture/SequenceReportView";
import type { SequenceReport, StoredSequence } from "../nurture/sequences";

/**
 * Nurture (marketers, admins): the sequences, and for the one picked (kept in the URL) its counts
 * by step, its emails' sends, opens, clicks and unsubscribes, the leads enrolled, running or
 * pausing it, and its YAML to edit as a new version.
 */
export default function NurturePage() {
  const [params, setParams] = useSearchParams();
  const list = useApi<StoredSequence[]>("/api/sequences");
  const picked = params.get("sequence") ?? list.data?.[0]?.id ?? null;
  const report = useApi<SequenceReport>(picked ? `/api/sequences/${encodeURIComponent(picked)}` : null);
  const set = (k: string, v: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    setParams(next, { replace: true });
  };
  // Versions come newest first.
  const latest = report.data?.versions[0];
  // The steps of the version that runs, else the latest.
  const shown = report.data?.versions.find((v) => v.active) ?? latest;
  return (
    <section aria-labelledby="nurture-title">
      <div className="page-head">
        <h1 id="nurture-title">Nurture</h1>
      </div>
      <Status loading={list.loading} error={list.error} />
      {list.data?.length === 0 && (
        <p>No sequences yet. Save one with `qualify sequences save` (docs/nurture.md).</p>
      )}
      <Table
        label="Sequences"
        rows={list.data ?? []}
        rowKey={(s) => s.id}
        empty=""
        columns={[
          {
            label: "Sequence",
            cell: (s) => (
              <button
                type="button"
                className="link"
                aria-pressed={s.id === picked}
                onClick={() => set("sequence", s.id)}
              >
                {s.spec.name ?? s.id}
              </button>
            ),
          },
          { label: "Version", cell: (s) => `v${s.version}` },
          { label: "State", cell: (s) => <span className="status">{s.running ? "running" : "paused"}</span> },
          { label: "Saved", cell: (s) => `${dateTime(s.createdAt)} by ${s.createdBy ?? "–"}` },
        ]}
      />
      <Status loading={report.loading} error={report.error} />
      {report.data && shown && latest && (
        <>
          <div className="page-head">
            <h2>
              {shown.spec.name ?? shown.id} (v{shown.version})
            </h2>
            <RunPause
              report={report.data}
              onDone={() => {
                report.reload();
                list.reload();
              }}
            />
          </div>
          {shown.spec.description && <p className="muted">{shown.spec.description}</p>}
          <SequenceReportView report={report.data} steps={shown.spec.steps} />
          <EnrollmentsTable
            sequence={report.data.id}
            status={params.get("status") ?? ""}
            onStatus={(s) => set("status", s)}
          />
          <SequenceEditor key={`${latest.id}@${latest.version}`} latest={latest} onSaved={report.reload} />
        </>
      )}
    </section>
  );
}

function RunPause({ report, onDone }: { report: SequenceReport; onDone: () => void }) {
  const { busy, error, attempt } = useAttempt();
  const path = `/api/sequences/${encodeURIComponent(report.id)}/${report.running ? "pause" : "activate"}`;
  return (
    <div>
      <button
        type="button"
        disabled={busy}
        onClick={() =>
          attempt(async () => {
            await api("POST", path, {});
            onDone();
          })
        }
      >
        {report.running ? "Pause" : "Run"}
      </button>
      <Alert message={error} />
    </div>
  );
}

/** The latest version's YAML, checked by the server as you type, saved as the next version. */
function SequenceEditor({ latest, onSaved }: { latest: StoredSequence; onSaved: () => void }) {
  const [draft, setDraft] = useState(latest.source);
  const { problems, check } = useServerCheck("/api/sequences/check");
  const { busy, error, attempt } = useAttempt();
  useEffect(() => setDraft(latest.source), [latest.source]);
  const save = () =>
    attempt(async () => {
      await api("POST", "/api/sequences", { source: draft, activate: false });
      onSaved();
    });
  return (
    <section aria-labelledby="sequence-yaml" className="card">
      <h2 id="sequence-yaml">Edit</h2>
      <p className="muted">
        Saving stores the next version; Run makes the latest version the one that runs. Leads already enrolled
        keep the version they entered with.
      </p>
      <YamlEditor value={draft} onChange={setDraft} check={check} label="Sequence YAML" />
      <ProblemList problems={problems} what="sequence" />
      <button type="button" disabled={busy || problems.length > 0 || draft === latest.source} onClick={save}>
        Save as v{latest.version + 1}
      </button>
      <Alert message={error} />
    </section>
  );
}
