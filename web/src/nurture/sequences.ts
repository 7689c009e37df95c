/** The sequence API's JSON (docs/nurture.md), as the nurture page reads it. */

export type Step = { id: string } & (
  | { send: string }
  | { wait: number }
  | { waitFor: unknown }
  | { if: unknown }
);

export interface StoredSequence {
  id: string;
  version: number;
  source: string;
  spec: { id: string; name?: string; description?: string; steps: Step[] };
  active: boolean;
  running?: boolean;
  createdAt: string;
  createdBy: string | null;
}

export interface SequenceReport {
  id: string;
  running: boolean;
  versions: StoredSequence[];
  enrollments: { active: number; completed: number; exited: number };
  activeByStep: Record<string, number>;
  emailsByStep: Record<string, Record<string, number>>;
  engagementByStep: Record<string, { opened: number; clicked: number; unsubscribed: number }>;
  exitReasons: Record<string, number>;
}

export interface EnrollmentRow {
  id: string;
  leadId: string;
  email: string | null;
  version: number;
  status: "active" | "completed" | "exited";
  step: string | null;
  enteredAt: string;
  nextRunAt: string | null;
  exitedAt: string | null;
  exitReason: string | null;
}

export const stepKind = (s: Step) =>
  "send" in s ? `send ${s.send}` : "wait" in s ? "wait" : "waitFor" in s ? "wait for event" : "branch";

/** Per step of a version: who is at it, and its email's sends, opens, clicks and unsubscribes. */
export function stepRows(report: SequenceReport, steps: Step[]) {
  return steps.map((s) => {
    const emails = report.emailsByStep[s.id] ?? {};
    const engaged = report.engagementByStep[s.id] ?? { opened: 0, clicked: 0, unsubscribed: 0 };
    const sent = emails.sent ?? 0;
    return {
      step: s.id,
      kind: stepKind(s),
      isEmail: "send" in s,
      active: report.activeByStep[s.id] ?? 0,
      sent,
      bounced: (emails.bounced ?? 0) + (emails.failed ?? 0),
      queued: (emails.queued ?? 0) + (emails.sending ?? 0),
      ...engaged,
      openRate: sent ? engaged.opened / sent : null,
      clickRate: sent ? engaged.clicked / sent : null,
    };
  });
}
