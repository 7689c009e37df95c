import type { Queryable } from "../db/database.js";

/**
 * Every step of a handoff, in order: assignment and reassignment (with the routing decision),
 * breaches, and each status change, with who did it and when.
 */
export async function recordHistory(
  tx: Queryable,
  ws: string,
  h: {
    handoffId: string;
    at: number;
    action: string;
    from?: string | null;
    to?: string | null;
    ownerId?: string | null;
    actor: string;
    by?: string | null;
    detail?: unknown;
  },
): Promise<void> {
  await tx.query(
    `insert into handoff_history (workspace_id, handoff_id, at, action, from_status, to_status, owner_id, actor, by_user, detail)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      ws,
      h.handoffId,
      h.at,
      h.action,
      h.from ?? null,
      h.to ?? null,
      h.ownerId ?? null,
      h.actor,
      h.by ?? null,
      h.detail === undefined ? null : JSON.stringify(h.detail),
    ],
  );
}

export async function handoffHistory(db: Queryable, ws: string, handoffId: string) {
  const rows = await db.query<{
    at: number;
    action: string;
    from_status: string | null;
    to_status: string | null;
    owner_id: string | null;
    owner_email: string | null;
    actor: string;
    by_user: string | null;
    detail: unknown;
  }>(
    `select h.at, h.action, h.from_status, h.to_status, h.owner_id, u.email as owner_email, h.actor, h.by_user, h.detail
     from handoff_history h left join users u on u.workspace_id = h.workspace_id and u.id = h.owner_id
     where h.workspace_id = $1 and h.handoff_id = $2 order by h.seq`,
    [ws, handoffId],
  );
  return rows.map((r) => ({
    at: new Date(Number(r.at)).toISOString(),
    action: r.action,
    from: r.from_status,
    to: r.to_status,
    owner: r.owner_email,
    actor: r.actor,
    by: r.by_user,
    detail: r.detail,
  }));
}
