import { useState } from "react";
import { api, useAttempt } from "../api";
import type { Handoff } from "../handoffs";

const LABELS: Record<string, string> = {
  accept: "Accept",
  reject: "Reject…",
  convert: "Convert",
  opportunity: "Opportunity",
  won: "Won",
  lost: "Lost",
};

/**
 * The actions a handoff's status allows. The new status shows at once (optimistic); if the server
 * refuses (a 409 when someone else acted first, say), it goes back and the server's message shows.
 */
export function HandoffActions({
  handoff,
  reasons,
  onChange,
}: {
  handoff: Handoff;
  reasons: string[];
  onChange: (h: Handoff) => void;
}) {
  const { error, attempt } = useAttempt();
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState(reasons[0] ?? "");
  const act = (action: string, body: Record<string, unknown> = {}) => {
    const before = handoff;
    setRejecting(false);
    onChange({ ...handoff, status: PENDING_STATUS[action] ?? handoff.status, allowedActions: [] });
    return attempt(async () => {
      try {
        const r = await api<{ handoff: Handoff }>(
          "POST",
          `/api/handoffs/${encodeURIComponent(handoff.id)}/${action}`,
          body,
        );
        onChange({ ...before, ...r.handoff });
      } catch (e) {
        onChange(before);
        throw e;
      }
    });
  };
  return (
    <fieldset className="actions">
      <legend className="sr-only">Actions on {handoff.lead?.email ?? handoff.leadId}</legend>
      {handoff.allowedActions.map((a) =>
        a === "reject" ? (
          <button key={a} type="button" onClick={() => setRejecting((r) => !r)}>
            {LABELS[a]}
          </button>
        ) : (
          <button key={a} type="button" onClick={() => void act(a)}>
            {LABELS[a] ?? a}
          </button>
        ),
      )}
      {rejecting && (
        <span className="reject">
          {reasons.length > 0 ? (
            <select aria-label="Rejection reason" value={reason} onChange={(e) => setReason(e.target.value)}>
              {reasons.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          ) : (
            <input
              aria-label="Rejection reason"
              value={reason}
              onChange={(e) => setReason(e.target.value)}
              required
            />
          )}
          <button type="button" onClick={() => void act("reject", { reason })}>
            Reject
          </button>
        </span>
      )}
      {error && (
        <span role="alert" className="error">
          {error}
        </span>
      )}
    </fieldset>
  );
}

/** The status an action leads to, shown while the server answers. */
const PENDING_STATUS: Record<string, string> = {
  accept: "accepted",
  reject: "rejected",
  convert: "converted",
  opportunity: "opportunity",
  won: "won",
  lost: "lost",
};
