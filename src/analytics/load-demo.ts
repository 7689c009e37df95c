import type { Database } from "../db/database.js";
import { QualifyError } from "../errors.js";
import { type WrittenHistory, writeHistory } from "./write-history.js";

/**
 * `qualify demo` (docs/analytics.md): fills an empty workspace with a generated history
 * (`generate-history.ts`) that ends now: web visits, downloads, webinars, email, handoffs to a
 * sales team of four reps in two teams, and outcomes, over several channels and campaigns. A
 * thousand profiles per transaction; reports build their rollups from it when first asked.
 */

export interface DemoOptions {
  profiles: number;
  days: number;
  seed: number;
}

export const DEFAULT_DEMO: DemoOptions = { profiles: 3_000, days: 182, seed: 1 };

/** The demo's sales reps (users with role sales, `<id>@sales.example`). */
export const DEMO_REPS = [
  { id: "demo-rep-1", team: "smb" },
  { id: "demo-rep-2", team: "smb" },
  { id: "demo-rep-3", team: "enterprise" },
  { id: "demo-rep-4", team: "enterprise" },
];

export interface DemoResult extends WrittenHistory {
  from: string;
  to: string;
}

const DAY = 86_400_000;

export async function loadDemo(db: Database, ws: string, o: DemoOptions, now: number): Promise<DemoResult> {
  const existing = await db.query<{ n: number }>(
    "select count(*)::int as n from leads where workspace_id = $1",
    [ws],
  );
  const n = existing[0]?.n ?? 0;
  if (n > 0)
    throw new QualifyError("CONFLICT", `the demo fills an empty workspace; ${ws} has ${n} leads`, [
      { path: "workspace", message: `has ${n} leads` },
    ]);
  const start = now - o.days * DAY;
  const written = await writeHistory(db, ws, {
    seed: o.seed,
    profiles: o.profiles,
    start,
    days: o.days,
    reps: DEMO_REPS,
  });
  return { ...written, from: new Date(start).toISOString(), to: new Date(now).toISOString() };
}
