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

/** Handoffs, newest assignment first, a page at a time (keyset on assigned_at, id). */
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
  if (f.cursor !== undefined) {
    const [at, id] = decode(f.cursor);
    params.push(at, id);
    where.push(`(h.assigned_at, h.id) < ($${params.length - 1}, $${params.length})`);
  }
  params.push(f.limit + 1);
  const rows = await db.query<HandoffRow>(
    `${HANDOFF_SELECT} where ${where.join(" and ")} order by h.assigned_at desc, h.id desc limit $${params.length}`,
    params,
  );
  const page = rows.slice(0, f.limit);
  const last = page[page.length - 1];
  return {
    handoffs: page.map(handoffJson),
    nextCursor: rows.length > f.limit && last ? encode(Number(last.assigned_at), last.id) : null,
  };
}

/** The lead's open handoff, if any. */
export async function openHandoffOf(db: Queryable, ws: string, leadId: string): Promise<HandoffRow | null> {
  const rows = await db.query<HandoffRow>(
    `${HANDOFF_SELECT} where h.workspace_id = $1 and h.lead_id = $2 and h.status = any($3)`,
    [ws, leadId, OPEN_STATUSES],
  );
  return rows[0] ?? null;
}
