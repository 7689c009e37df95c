/** A lead as GET /api/leads lists it. */
export interface LeadSummary {
  id: string;
  userId: string | null;
  email: string | null;
  name: string | null;
  stage: string;
  scores: Record<string, number>;
  grade: string | null;
  mqlAt: string | null;
  owner: string | null;
  firstSeenAt: string | null;
  lastEventAt: string | null;
  eventCount: number;
}

// The engine's own lists (a module of constants only), so the two cannot drift apart.
export { GRADES, STAGES } from "../../src/engine/types";
