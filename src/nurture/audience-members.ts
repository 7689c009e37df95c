import type { Queryable } from "../db/database.js";
import { QualifyError } from "../errors.js";

/**
 * The members of an audience, page by page in lead id order (keyset paging: a page is one indexed
 * range, however deep), as the API lists and exports them. Leads that no longer exist are skipped.
 */

export interface Member {
  leadId: string;
  userId: string | null;
  email: string | null;
  name: string | null;
  stage: string;
  grade: string | null;
  joinedAt: string;
}

interface Row {
  lead_id: string;
  user_id: string | null;
  email: string | null;
  name: string | null;
  stage: string;
  grade: string | null;
  joined_at: number | string;
}

export const encodeCursor = (leadId: string) => Buffer.from(leadId, "utf8").toString("base64url");

export function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, "base64url").toString("utf8");
  if (id === "" || encodeCursor(id) !== cursor)
    throw new QualifyError("INPUT_INVALID", "cursor is not one this API returned", [
      { path: "cursor", message: "malformed" },
    ]);
  return id;
}

/** Up to `limit` members after the lead id `after` (exclusive); `next` is the last one's id, when more may follow. */
export async function memberPage(
  q: Queryable,
  ws: string,
  audienceId: string,
  o: { after?: string | undefined; limit: number },
): Promise<{ items: Member[]; next: string | null }> {
  const rows = await q.query<Row>(
    `select m.lead_id, l.user_id, l.email, l.name, l.stage, l.grade, m.joined_at
     from audience_members m join leads l on l.workspace_id = m.workspace_id and l.id = m.lead_id
     where m.workspace_id = $1 and m.audience_id = $2 and m.lead_id > $3
     order by m.lead_id limit $4`,
    [ws, audienceId, o.after ?? "", o.limit],
  );
  const items = rows.map((r) => ({
    leadId: r.lead_id,
    userId: r.user_id,
    email: r.email,
    name: r.name,
    stage: r.stage,
    grade: r.grade,
    joinedAt: new Date(Number(r.joined_at)).toISOString(),
  }));
  return { items, next: items.length === o.limit ? (items.at(-1)?.leadId ?? null) : null };
}

/** Every member, a page at a time. */
export async function* allMembers(q: Queryable, ws: string, audienceId: string, pageSize = 1000) {
  let after: string | undefined;
  for (;;) {
    const page = await memberPage(q, ws, audienceId, { after, limit: pageSize });
    yield* page.items;
    if (page.next === null) return;
    after = page.next;
  }
}
