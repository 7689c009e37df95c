/** A handoff as the API answers it (GET /api/handoffs, a lead's `handoffs`). */
export interface Handoff {
  id: string;
  leadId: string;
  kind: string;
  handRaiser: boolean;
  status: string;
  allowedActions: string[];
  owner: { id: string; email: string } | null;
  team: string | null;
  mqlAt: string;
  assignedAt: string | null;
  dueAt: string | null;
  breaches: number;
  actedAt: string | null;
  reason: string | null;
  lead?: {
    email: string | null;
    name: string | null;
    stage: string;
    grade: string | null;
    scores: Record<string, number>;
  };
  qualifiedBy?: string | null;
}
