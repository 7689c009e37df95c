import type { Queryable } from "../db/database.js";
import { factsAllowedFrom, type Stage } from "../engine/index.js";
import { QualifyError } from "../errors.js";
import { listHandoffs } from "../handoff/handoff-queries.js";
import { fromRow, type LeadRecord, type LeadRow } from "../pipeline/lead-record.js";

/** Reading leads for the API: lists with filters and keyset paging, one lead in full, its history. */

/** An epoch-millisecond time as the API answers it: ISO-8601, or null. */
export const isoTime = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

export interface LeadFilters {
  stage?: string[];
  grade?: string[];
  owner?: string;
  /** A sales user's id: only leads they own or were handed off to them. */
  salesUser?: string;
  /** The channel of the lead's first touch, as the analytics rollup has it (docs/analytics.md). */
  channel?: string;
  q?: string;
  score?: string;
  minScore?: number;
  maxScore?: number;
  mqlFrom?: number;
  mqlTo?: number;
  userId?: string;
  email?: string;
  sort: string;
  limit: number;
  cursor?: string;
}

/** A score group's value as SQL; its name inlined (quoted), so that it matches an index's expression. */
const scoreSql = (group: string) => `coalesce((scores->>'${group.replace(/'/g, "''")}')::float8, 0)`;

/** Each sort's expression, as the indexes of migration 015 have it. */
const SORTS: Record<string, (score: string) => string> = {
  lastEventAt: () => "coalesce(last_event_at, 0)::float8",
  firstSeenAt: () => "first_seen_at::float8",
  mqlAt: () => "coalesce(mql_at, 0)::float8",
  score: scoreSql,
};
export const SORT_FIELDS = Object.keys(SORTS).flatMap((k) => [k, `-${k}`]);

export function leadSummary(l: LeadRecord) {
  return {
    id: l.id,
    userId: l.userId,
    email: l.email,
    name: l.name,
    stage: l.stage,
    scores: l.scores,
    grade: l.grade,
    scoresAsOf: isoTime(l.scoresAsOf),
    mqlAt: isoTime(l.mqlAt),
    owner: l.owner,
    account: l.accountId === null ? null : { id: l.accountId, source: l.accountSource },
    flags: l.flags,
    firstSeenAt: isoTime(l.firstSeenAt),
    lastEventAt: isoTime(l.lastEventAt),
    eventCount: l.eventCount,
  };
}

export async function listLeads(db: Queryable, ws: string, f: LeadFilters) {
  const params: unknown[] = [ws];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const where = ["workspace_id = $1", "merged_into is null"];
  if (f.stage?.length) where.push(`stage = any(${p(f.stage)})`);
  if (f.grade?.length) where.push(`grade = any(${p(f.grade)})`);
  if (f.owner !== undefined) where.push(`owner = ${p(f.owner)}`);
  if (f.salesUser !== undefined) {
    const me = p(f.salesUser);
    where.push(
      `(owner = ${me} or id in (select lead_id from handoffs where workspace_id = $1 and owner_id = ${me}))`,
    );
  }
  if (f.channel !== undefined)
    where.push(
      `id in (select lead_id from lead_funnel where workspace_id = $1 and first_channel = ${p(f.channel)})`,
    );
  if (f.q !== undefined) {
    const like = p(`%${f.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    where.push(`(email ilike ${like} or name ilike ${like})`);
  }
  const scoreName = f.score ?? "engagement";
  if (f.minScore !== undefined) where.push(`${scoreSql(scoreName)} >= ${p(f.minScore)}`);
  if (f.maxScore !== undefined) where.push(`${scoreSql(scoreName)} <= ${p(f.maxScore)}`);
  if (f.mqlFrom !== undefined) where.push(`mql_at >= ${p(f.mqlFrom)}`);
  if (f.mqlTo !== undefined) where.push(`mql_at < ${p(f.mqlTo)}`);
  if (f.userId !== undefined)
    where.push(
      `id in (select lead_id from identities where workspace_id = $1 and kind = 'user' and value = ${p(f.userId)})`,
    );
  if (f.email !== undefined) where.push(`lower(email) = lower(${p(f.email)})`);

  const desc = f.sort.startsWith("-");
  const field = desc ? f.sort.slice(1) : f.sort;
  const sortExpr = SORTS[field];
  if (!sortExpr)
    throw new QualifyError("INPUT_INVALID", `cannot sort by ${f.sort}`, [
      { path: "sort", message: `expected one of ${SORT_FIELDS.join(", ")}` },
    ]);
  const expr = sortExpr(scoreName);
  if (f.cursor !== undefined) {
    let value: number;
    let id: string;
    try {
      [value, id] = JSON.parse(Buffer.from(f.cursor, "base64url").toString("utf8")) as [number, string];
      if (typeof value !== "number" || typeof id !== "string") throw new Error("bad cursor");
    } catch {
      throw new QualifyError("INPUT_INVALID", "cursor is not one this API returned", [
        { path: "cursor", message: "malformed" },
      ]);
    }
    where.push(`(${expr}, id) ${desc ? "<" : ">"} (${p(value)}::float8, ${p(id)})`);
  }
  const dir = desc ? "desc" : "asc";
  const rows = await db.query<LeadRow & { sort_value: number }>(
    `select *, ${expr} as sort_value from leads where ${where.join(" and ")}
     order by sort_value ${dir}, id ${dir} limit ${p(f.limit + 1)}`,
    params,
  );
  const page = rows.slice(0, f.limit);
  const last = page[page.length - 1];
  const nextCursor =
    rows.length > f.limit && last
      ? Buffer.from(JSON.stringify([last.sort_value, last.id])).toString("base64url")
      : null;
  return { items: page.map((r) => leadSummary(fromRow(r))), nextCursor };
}

/** The lead, following merges; 404 when there is none (or it was erased). */
/** The live lead with this email (case-insensitive); the most recently active one if several. */
export async function loadLeadByEmail(db: Queryable, ws: string, email: string): Promise<LeadRecord> {
  const row = (
    await db.query<LeadRow>(
      `select * from leads where workspace_id = $1 and lower(email) = lower($2) and merged_into is null
       order by last_event_at desc nulls last limit 1`,
      [ws, email],
    )
  )[0];
  if (!row)
    throw new QualifyError("NOT_FOUND", `no lead with email ${email}`, [
      { path: "email", message: "no such lead (or it was erased)" },
    ]);
  return fromRow(row);
}

export async function loadLead(db: Queryable, ws: string, id: string): Promise<LeadRecord> {
  for (let current = id, hops = 0; hops < 100; hops++) {
    const row = (
      await db.query<LeadRow>("select * from leads where workspace_id = $1 and id = $2", [ws, current])
    )[0];
    if (!row) break;
    if (row.merged_into === null) return fromRow(row);
    current = row.merged_into;
  }
  throw new QualifyError("NOT_FOUND", `no lead ${id}`, [
    { path: "id", message: "no such lead (or it was erased)" },
  ]);
}

export async function stageHistory(db: Queryable, ws: string, leadId: string) {
  const rows = await db.query<{
    from_stage: string;
    to_stage: string;
    at: number;
    trigger_at: number;
    input_id: string;
    actor: string;
    by_user: string | null;
    rules: string[];
    reason: string;
    scores: Record<string, number>;
    grade: string;
    model_version: number | null;
    would_have_qualified_at: number | null;
  }>("select * from transitions where workspace_id = $1 and lead_id = $2 order by seq", [ws, leadId]);
  return rows.map((t) => ({
    from: t.from_stage,
    to: t.to_stage,
    at: isoTime(t.at),
    triggerAt: isoTime(t.trigger_at),
    inputId: t.input_id,
    actor: t.actor,
    by: t.by_user,
    rules: t.rules,
    reason: t.reason,
    scores: t.scores,
    grade: t.grade,
    modelVersion: t.model_version,
    ...(t.would_have_qualified_at === null
      ? {}
      : { wouldHaveQualifiedAt: isoTime(t.would_have_qualified_at) }),
  }));
}

export async function leadDetail(db: Queryable, ws: string, lead: LeadRecord) {
  const ids = await db.query<{ kind: string; value: string }>(
    "select kind, value from identities where workspace_id = $1 and lead_id = $2 order by value",
    [ws, lead.id],
  );
  const account =
    lead.accountId === null
      ? null
      : ((
          await db.query<{
            id: string;
            domain: string | null;
            traits: Record<string, unknown>;
            ownerId: string | null;
            customer: boolean;
          }>(
            `select id, domain, traits, owner_id as "ownerId", customer from accounts
             where workspace_id = $1 and id = $2`,
            [ws, lead.accountId],
          )
        )[0] ?? { id: lead.accountId, domain: null, traits: {}, ownerId: null, customer: false });
  const merged = await db.query<{ id: string }>(
    "select id from leads where workspace_id = $1 and merged_into = $2 order by id",
    [ws, lead.id],
  );
  return {
    ...leadSummary(lead),
    userIds: ids.filter((i) => i.kind === "user").map((i) => i.value),
    anonymousIds: ids.filter((i) => i.kind === "anonymous").map((i) => i.value),
    traits: lead.traits,
    account:
      account === null
        ? null
        : {
            ...account,
            source: lead.accountSource,
            ...(lead.accountSource === "domain" ? { matchedBy: `email domain ${lead.emailDomain}` } : {}),
          },
    firstMqlAt: isoTime(lead.firstMqlAt),
    /** The stage facts (POST /api/leads/:id/stage) the lead's stage allows. */
    allowedFacts: factsAllowedFrom(lead.stage as Stage),
    modelVersion: lead.modelVersion,
    mergedFrom: merged.map((m) => m.id),
    history: await stageHistory(db, ws, lead.id),
    handoffs: (await listHandoffs(db, ws, { leadId: lead.id, limit: 20 })).handoffs,
  };
}

/** Whether a sales user may see the lead: they own it, or it was handed off to them. */
export async function salesMaySee(
  db: Queryable,
  ws: string,
  userId: string,
  lead: LeadRecord,
): Promise<boolean> {
  if (lead.owner === userId) return true;
  const rows = await db.query(
    "select 1 from handoffs where workspace_id = $1 and lead_id = $2 and owner_id = $3 limit 1",
    [ws, lead.id, userId],
  );
  return rows.length > 0;
}
