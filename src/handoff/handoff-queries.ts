import type { Queryable } from "../db/database.js";
import { QualifyError } from "../errors.js";
import { HANDOFF_SELECT, type HandoffRow, handoffJson } from "./handoff-messages.js";

export const OPEN_STATUSES = ["pending", "accepted", "converted", "opportunity"] as const;

export interface HandoffFilter {
  owner?: string;
  status?: string[];
  team?: string;
  leadId?: string;
  /** `mql` (a lead's first) or `re-mql` (after a recycle). */
  kind?: string;
  breached?: boolean;
  /** `newest` (assignment, newest first; the default) or `due` (SLA due time, soonest first). */
  sort?: "newest" | "due";
  limit: number;
  cursor?: string;
}

const encode = (assignedAt: number, id: string) => Buffer.from(`${assignedAt}|${id}`).toString("base64url");

function decode(cursor: string): [number, string] {
  const [at, id] = Buffer.from(cursor, "base64url").toString().split("|");
  if (!at || !id || !Number.isFinite(Number(at)))
    throw new QualifyError("INPUT_INVALID", "bad cursor", [
      { path: "cursor", message: "use nextCursor as given" },
    ]);
  return [Number(at), id];
}

/** No due time sorts last. */
const NEVER = Number.MAX_SAFE_INTEGER;

/**
 * Handoffs a page at a time: newest assignment first (keyset on assigned_at, id), or soonest SLA
 * due time first (keyset on due_at, id). Each comes with its lead (email, name, stage, grade,
 * scores) and the reason its MQL was recorded with.
 */
export async function listHandoffs(db: Queryable, ws: string, f: HandoffFilter) {
  const where = ["h.workspace_id = $1"];
  const params: unknown[] = [ws];
  const add = (sql: string, v: unknown) => {
    params.push(v);
    where.push(sql.replace("?", `$${params.length}`));
  };
  if (f.owner !== undefined) add("h.owner_id = ?", f.owner);
  if (f.status?.length) add("h.status = any(?)", f.status);
  if (f.team !== undefined) add("h.team = ?", f.team);
  if (f.leadId !== undefined) add("h.lead_id = ?", f.leadId);
  if (f.kind !== undefined) add("h.kind = ?", f.kind);
  if (f.breached) where.push("h.breaches > 0");
  const due = f.sort === "due";
  const key = due ? `coalesce(h.due_at, ${NEVER})` : "h.assigned_at";
  const dir = due ? "asc" : "desc";
  if (f.cursor !== undefined) {
    const [at, id] = decode(f.cursor);
    params.push(at, id);
    where.push(`(${key}, h.id) ${due ? ">" : "<"} ($${params.length - 1}, $${params.length})`);
  }
  params.push(f.limit + 1);
  const rows = await db.query<HandoffRow>(
    `${HANDOFF_SELECT} where ${where.join(" and ")} order by ${key} ${dir}, h.id ${dir} limit $${params.length}`,
    params,
  );
  const page = rows.slice(0, f.limit);
  const last = page[page.length - 1];
  const leads = await handoffLeads(db, ws, page);
  return {
    handoffs: page.map((h) => ({ ...handoffJson(h), ...leads.get(h.id) })),
    nextCursor:
      rows.length > f.limit && last
        ? encode(due ? Number(last.due_at ?? NEVER) : Number(last.assigned_at), last.id)
        : null,
  };
}

/** Per handoff: its lead in brief and the reason of the MQL it was made for. */
async function handoffLeads(db: Queryable, ws: string, page: HandoffRow[]) {
  if (page.length === 0) return new Map();
  const rows = await db.query<{
    handoff: string;
    email: string | null;
    name: string | null;
    stage: string;
    grade: string | null;
    scores: Record<string, number>;
    reason: string | null;
  }>(
    `select h.id as handoff, l.email, l.name, l.stage, l.grade, l.scores,
       (select t.reason from transitions t where t.workspace_id = $1 and t.lead_id = h.lead_id
          and t.to_stage = 'mql' and t.at <= h.mql_at order by t.at desc limit 1) as reason
     from unnest($2::text[], $3::text[], $4::bigint[]) as h(id, lead_id, mql_at)
     join leads l on l.workspace_id = $1 and l.id = h.lead_id`,
    [ws, page.map((h) => h.id), page.map((h) => h.lead_id), page.map((h) => h.mql_at)],
  );
  return new Map(
    rows.map((r) => [
      r.handoff,
      {
        lead: { email: r.email, name: r.name, stage: r.stage, grade: r.grade, scores: r.scores },
        qualifiedBy: r.reason,
      },
    ]),
  );
}

/** The lead's open handoff, if any. */
export async function openHandoffOf(db: Queryable, ws: string, leadId: string): Promise<HandoffRow | null> {
  const rows = await db.query<HandoffRow>(
    `${HANDOFF_SELECT} where h.workspace_id = $1 and h.lead_id = $2 and h.status = any($3)`,
    [ws, leadId, OPEN_STATUSES],
  );
  return rows[0] ?? null;
}
