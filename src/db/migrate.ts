import type { Database } from "./database.js";
import { sql as workspaces } from "./migrations/001-workspaces.js";
import { sql as liveService } from "./migrations/002-live-service.js";
import { sql as scaleOut } from "./migrations/003-scale-out.js";
import { sql as scheduler } from "./migrations/004-scheduler.js";
import { sql as handoff } from "./migrations/005-handoff.js";
import { sql as webhooks } from "./migrations/006-webhooks.js";
import { sql as leadStateJson } from "./migrations/007-lead-state-json.js";
import { sql as nurture } from "./migrations/008-nurture.js";
import { sql as jobsDueOrder } from "./migrations/009-jobs-due-order.js";
import { sql as analytics } from "./migrations/010-analytics.js";
import { sql as attributionCredits } from "./migrations/011-attribution-credits.js";
import { sql as leadPaths } from "./migrations/012-lead-paths.js";
import { sql as webSessions } from "./migrations/013-web-sessions.js";
import { sql as emailEngagement } from "./migrations/014-email-engagement.js";
import { sql as leadListIndexes } from "./migrations/015-lead-list-indexes.js";
import { sql as hotLeadUpdates } from "./migrations/016-hot-lead-updates.js";
import { sql as incrementalRollup } from "./migrations/017-incremental-rollup.js";

/** Every migration, in order. Ids never change once released; add new ones at the end. */
export const MIGRATIONS: readonly { id: string; sql: string }[] = [
  { id: "001-workspaces", sql: workspaces },
  { id: "002-live-service", sql: liveService },
  { id: "003-scale-out", sql: scaleOut },
  { id: "004-scheduler", sql: scheduler },
  { id: "005-handoff", sql: handoff },
  { id: "006-webhooks", sql: webhooks },
  { id: "007-lead-state-json", sql: leadStateJson },
  { id: "008-nurture", sql: nurture },
  { id: "009-jobs-due-order", sql: jobsDueOrder },
  { id: "010-analytics", sql: analytics },
  { id: "011-attribution-credits", sql: attributionCredits },
  { id: "012-lead-paths", sql: leadPaths },
  { id: "013-web-sessions", sql: webSessions },
  { id: "014-email-engagement", sql: emailEngagement },
  { id: "015-lead-list-indexes", sql: leadListIndexes },
  { id: "016-hot-lead-updates", sql: hotLeadUpdates },
  { id: "017-incremental-rollup", sql: incrementalRollup },
];

/** A stable key for PostgreSQL's advisory lock, so that processes starting together migrate once. */
const MIGRATION_LOCK = 7_263_110_001;

/**
 * Applies the migrations not yet applied, each once, in order, each in its own transaction.
 * Returns the ids it applied.
 */
export async function migrate(db: Database): Promise<string[]> {
  // Under the lock too: two first starts at once would otherwise race to create the table.
  await db.transaction(async (tx) => {
    if (db.kind === "postgres") await tx.query("select pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await tx.exec(`create table if not exists qualify_migrations (
      id text primary key,
      applied_at timestamptz not null default now()
    )`);
  });
  const applied: string[] = [];
  for (const m of MIGRATIONS) {
    const done = await db.transaction(async (tx) => {
      if (db.kind === "postgres") await tx.query("select pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
      const rows = await tx.query("select 1 from qualify_migrations where id = $1", [m.id]);
      if (rows.length > 0) return false;
      await tx.exec(m.sql);
      await tx.query("insert into qualify_migrations (id) values ($1)", [m.id]);
      return true;
    });
    if (done) applied.push(m.id);
  }
  return applied;
}
