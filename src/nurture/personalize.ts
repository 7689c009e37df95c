import type { Queryable } from "../db/database.js";
import type { Stage } from "../engine/types.js";

/**
 * What a website may learn about its visitor: a coarse stage bucket and the public audiences the
 * visitor's lead is in. Looked up by anonymousId only (the cookie id the website already has), and
 * never anything that identifies the person: no email, name, scores, grade or lead id.
 */

export const STAGE_BUCKETS = ["unknown", "visitor", "known", "mql", "opportunity", "customer"] as const;
export type StageBucket = (typeof STAGE_BUCKETS)[number];

/** Disqualified shows as known: a website has no business telling a visitor they were disqualified. */
const BUCKET: Record<Stage, StageBucket> = {
  visitor: "visitor",
  subscriber: "known",
  lead: "known",
  recycled: "known",
  disqualified: "known",
  mql: "mql",
  sal: "mql",
  sql: "mql",
  opportunity: "opportunity",
  customer: "customer",
};

export const stageBucket = (stage: Stage): StageBucket => BUCKET[stage] ?? "known";

export interface Personalization {
  stage: StageBucket;
  audiences: string[];
}

/** The answer for an anonymousId: its lead (following merges), the lead's bucket and public audiences. */
export async function personalize(q: Queryable, ws: string, anonymousId: string): Promise<Personalization> {
  const leads = await q.query<{ id: string; stage: Stage }>(
    `with recursive chain (id, stage, merged_into, depth) as (
       select l.id, l.stage, l.merged_into, 0
       from identities i join leads l on l.workspace_id = i.workspace_id and l.id = i.lead_id
       where i.workspace_id = $1 and i.kind = 'anonymous' and i.value = $2
       union all
       select l.id, l.stage, l.merged_into, c.depth + 1
       from chain c join leads l on l.workspace_id = $1 and l.id = c.merged_into
       where c.depth < 20
     )
     select id, stage from chain where merged_into is null limit 1`,
    [ws, anonymousId],
  );
  const lead = leads[0];
  if (!lead) return { stage: "unknown", audiences: [] };
  const rows = await q.query<{ audience_id: string }>(
    `select m.audience_id from audience_members m
     join audiences a on a.workspace_id = m.workspace_id and a.id = m.audience_id and a.active and a.public
     where m.workspace_id = $1 and m.lead_id = $2 order by m.audience_id`,
    [ws, lead.id],
  );
  return { stage: stageBucket(lead.stage), audiences: rows.map((r) => r.audience_id) };
}
