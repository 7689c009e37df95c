import { createUser, findUser } from "../api/credentials.js";
import type { Database } from "../db/database.js";
import { QualifyError } from "../errors.js";
import { activeRouting, saveRouting } from "../handoff/routing-store.js";
import { demoNurture } from "../nurture/demo-nurture.js";
import { hashPassword } from "../web/password.js";
import { setPassword } from "../web/web-sessions.js";
import { scoreGeneratedLeads } from "./score-generated-leads.js";
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

/** The demo's dashboard logins (a demo workspace only; documented in the README). */
export const DEMO_PASSWORD = "qualify-demo";
export const DEMO_MARKETER = "marketer@demo.example";

/** Routing for the demo's two teams, so that new MQLs keep reaching the reps. */
const DEMO_ROUTING = `description: demo routing (qualify demo)
teams:
  smb:
    timeZone: UTC
    hours: &weekdays
      mon: ["08:00-18:00"]
      tue: ["08:00-18:00"]
      wed: ["08:00-18:00"]
      thu: ["08:00-18:00"]
      fri: ["08:00-18:00"]
    sla: { businessHours: 4 }
    handRaiserSla: { businessHours: 1 }
  enterprise:
    timeZone: UTC
    hours: *weekdays
    sla: { businessHours: 8 }
    onBreach: reassign
rules:
  - id: big-companies
    when: { trait: company_size, gte: 200 }
    team: enterprise
fallback: { team: smb }
rejectionReasons:
  no budget: recycle
  bad timing: recycle
  not a buyer: disqualify
  competitor: disqualify
`;

export interface DemoResult extends WrittenHistory {
  from: string;
  to: string;
  /** Who can log in to the dashboard, with the demo password. */
  logins: { email: string; role: string }[];
  password: string;
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
  const written = await writeHistory(
    db,
    ws,
    { seed: o.seed, profiles: o.profiles, start, days: o.days, reps: DEMO_REPS },
    1_000,
    await demoNurture(db, ws, o.seed, now),
  );
  await scoreGeneratedLeads(db, ws, now);
  const hash = await hashPassword(DEMO_PASSWORD);
  const marketer = await db.transaction(async (tx) => {
    const m = await createUser(tx, ws, { email: DEMO_MARKETER, role: "marketer", name: "Demo Marketer" });
    await setPassword(tx, m, hash);
    for (const r of DEMO_REPS) await setPassword(tx, await findUser(tx, ws, r.id), hash);
    return m;
  });
  if (!(await activeRouting(db, ws))) await saveRouting(db, ws, DEMO_ROUTING, { activate: true, by: "demo" });
  return {
    ...written,
    from: new Date(start).toISOString(),
    to: new Date(now).toISOString(),
    logins: [
      { email: marketer.email, role: "marketer" },
      ...DEMO_REPS.map((r) => ({ email: `${r.id}@sales.example`, role: "sales" })),
    ],
    password: DEMO_PASSWORD,
  };
}
