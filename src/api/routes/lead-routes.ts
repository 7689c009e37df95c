import { randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import * as z from "zod";
import type { Queryable } from "../../db/database.js";
import { FACTS, type FactInput } from "../../engine/index.js";
import { ID_PATTERN } from "../../engine/model/model-schema.js";
import { QualifyError } from "../../errors.js";
import { factEvent } from "../../ingest/append-events.js";
import { csvLine } from "../../nurture/audience-csv.js";
import { leadInputs } from "../../pipeline/lead-inputs.js";
import type { LeadRecord } from "../../pipeline/lead-record.js";
import { ADMIN, ANY_ROLE, requireRole, workspaceOf } from "../authenticate.js";
import { eraseLead } from "../erase-lead.js";
import { explainLead, parseTime, scoreHistory, timeline } from "../explain-lead.js";
import {
  type LeadFilters,
  leadDetail,
  type leadSummary,
  listLeads,
  loadLead,
  SORT_FIELDS,
  salesMaySee,
} from "../lead-queries.js";
import type { Service } from "../service.js";

const list = (s: string | undefined) =>
  s === undefined
    ? undefined
    : s
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean);

const idParams = z.object({ id: z.string().min(1).describe("lead id") });
const time = z.string().describe("ISO-8601 date-time").optional();

const listQuery = z.object({
  stage: z.string().optional().describe("comma-separated stages, e.g. mql,sal"),
  grade: z.string().optional().describe("comma-separated grades, e.g. A,B"),
  owner: z.string().optional(),
  q: z.string().min(1).optional().describe("text in the email or name"),
  channel: z.string().min(1).optional().describe("the channel of the lead's first touch (analytics)"),
  score: z
    .string()
    .regex(ID_PATTERN, { error: "expected a score group's name: lowercase letters, digits, '-' and '_'" })
    .optional()
    .describe("the score group minScore/maxScore and sort=score read (default engagement)"),
  minScore: z.coerce.number().optional(),
  maxScore: z.coerce.number().optional(),
  mqlFrom: time.describe("MQL at or after this time"),
  mqlTo: time.describe("MQL before this time"),
  userId: z.string().optional().describe("look a lead up by any of its userIds"),
  email: z.string().optional().describe("look a lead up by email (case-insensitive)"),
  sort: z
    .enum(SORT_FIELDS as [string, ...string[]])
    .default("-lastEventAt")
    .describe("field to sort by; a leading - sorts descending"),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().optional().describe("nextCursor of the previous page"),
});

const stageBody = z.object({
  fact: z
    .enum(FACTS)
    .describe(
      "what happened: accepted, rejected, recycled, converted, opportunity, won, lost, disqualified, reinstated",
    ),
  reason: z.string().max(2000).optional(),
  actor: z.enum(["user", "crm"]).default("user"),
  at: time.describe("when it happened (default: now)"),
});

const EXPORT_LIMIT = 100_000;
const CSV_COLUMNS = [
  "id",
  "email",
  "name",
  "stage",
  "grade",
  "fit",
  "engagement",
  "owner",
  "mqlAt",
  "firstSeenAt",
  "lastEventAt",
  "eventCount",
];
const str = (v: string | number | null | undefined) => (v === null || v === undefined ? null : String(v));
/** One lead as a CSV line (RFC 4180, formula-looking text escaped: `nurture/audience-csv.ts`). */
const csvRow = (l: ReturnType<typeof leadSummary>) =>
  csvLine(
    [
      l.id,
      l.email,
      l.name,
      l.stage,
      l.grade,
      l.scores.fit,
      l.scores.engagement,
      l.owner,
      l.mqlAt,
      l.firstSeenAt,
      l.lastEventAt,
      l.eventCount,
    ].map(str),
  );

/** A sales user sees only their leads (owned, or handed off to them); other roles every lead. */
async function visible(db: Queryable, req: FastifyRequest, lead: LeadRecord): Promise<LeadRecord> {
  if (req.user?.role === "sales" && !(await salesMaySee(db, req.user.workspaceId, req.user.id, lead)))
    throw new QualifyError("FORBIDDEN", "a sales user sees only their own leads", [
      { path: "id", message: "the lead is not yours" },
    ]);
  return lead;
}

export function leadRoutes(app: FastifyInstance, service: Service): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const anyone = requireRole(service, ANY_ROLE);
  const tags = ["leads"];
  const security = [{ bearer: [] }];

  const filters = (req: FastifyRequest, q: z.infer<typeof listQuery>): LeadFilters => ({
    stage: list(q.stage),
    grade: list(q.grade),
    owner: q.owner,
    // A sales user sees their own leads, whatever the filter asks.
    salesUser: req.user?.role === "sales" ? req.user.id : undefined,
    channel: q.channel,
    q: q.q,
    score: q.score,
    minScore: q.minScore,
    maxScore: q.maxScore,
    mqlFrom: parseTime("mqlFrom", q.mqlFrom),
    mqlTo: parseTime("mqlTo", q.mqlTo),
    userId: q.userId,
    email: q.email,
    sort: q.sort,
    limit: q.limit,
    cursor: q.cursor,
  });

  r.get(
    "/api/leads",
    {
      preHandler: anyone,
      schema: {
        tags,
        security,
        summary: "List, filter, sort and page leads; look one up by userId or email",
        querystring: listQuery,
      },
    },
    async (req) => listLeads(service.db, workspaceOf(req), filters(req, req.query)),
  );

  r.get(
    "/api/leads/export.csv",
    {
      preHandler: anyone,
      schema: {
        tags,
        security,
        summary: `The leads a filter selects (as GET /api/leads, all pages, at most ${EXPORT_LIMIT.toLocaleString("en-US")}), as CSV`,
        querystring: listQuery.omit({ limit: true, cursor: true }),
      },
    },
    async (req, reply) => {
      const ws = workspaceOf(req);
      const f = filters(req, { ...req.query, limit: 500 });
      const rows: string[] = [csvLine(CSV_COLUMNS)];
      let cursor: string | undefined;
      do {
        const page = await listLeads(service.db, ws, { ...f, cursor });
        for (const l of page.items) rows.push(csvRow(l));
        cursor = page.nextCursor ?? undefined;
      } while (cursor && rows.length <= EXPORT_LIMIT);
      return reply
        .type("text/csv; charset=utf-8")
        .header("content-disposition", 'attachment; filename="leads.csv"')
        .send(rows.slice(0, EXPORT_LIMIT + 1).join(""));
    },
  );

  r.get(
    "/api/leads/:id",
    {
      preHandler: anyone,
      schema: {
        tags,
        security,
        summary: "One lead: identities, traits, account, stage, scores, stage history",
        params: idParams,
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      return leadDetail(
        service.db,
        ws,
        await visible(service.db, req, await loadLead(service.db, ws, req.params.id)),
      );
    },
  );

  r.get(
    "/api/leads/:id/explain",
    {
      preHandler: anyone,
      schema: {
        tags,
        security,
        summary:
          "Every contribution to the lead's scores, and why it is (or is not) qualified, now or at a time",
        params: idParams,
        querystring: z.object({ at: time.describe("explain as of this time (default: now)") }),
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const lead = await visible(service.db, req, await loadLead(service.db, ws, req.params.id));
      const at = parseTime("at", req.query.at) ?? service.clock();
      const m = await service.pipeline.model(ws);
      return explainLead(m.model, lead, await leadInputs(service.db, ws, lead.id), at);
    },
  );

  r.get(
    "/api/leads/:id/score-history",
    {
      preHandler: anyone,
      schema: {
        tags,
        security,
        summary:
          "The lead's score in each group over time (as `explain?at=` would answer at each point), with the MQL thresholds of the active model",
        params: idParams,
        querystring: z.object({ points: z.coerce.number().int().min(1).max(200).default(40) }),
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const lead = await visible(service.db, req, await loadLead(service.db, ws, req.params.id));
      const m = await service.pipeline.model(ws);
      const inputs = await leadInputs(service.db, ws, lead.id);
      return scoreHistory(m.model, inputs, service.clock(), req.query.points);
    },
  );

  r.get(
    "/api/leads/:id/events",
    {
      preHandler: anyone,
      schema: {
        tags,
        security,
        summary: "The lead's timeline, newest first, with the points each event earned",
        params: idParams,
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(500).default(50),
          cursor: z.string().optional(),
        }),
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const lead = await visible(service.db, req, await loadLead(service.db, ws, req.params.id));
      const m = await service.pipeline.model(ws);
      const inputs = await leadInputs(service.db, ws, lead.id);
      return timeline(m.model, inputs, service.clock(), { limit: req.query.limit, cursor: req.query.cursor });
    },
  );

  r.post(
    "/api/leads/:id/stage",
    {
      preHandler: anyone,
      schema: {
        tags,
        security,
        summary:
          "Record a stage fact (accept, reject, convert, recycle, won, lost, disqualify, reinstate) as an engine input",
        params: idParams,
        body: stageBody,
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const lead = await visible(service.db, req, await loadLead(service.db, ws, req.params.id));
      const now = service.clock();
      const input: FactInput = {
        kind: "fact",
        id: `fact:${randomUUID()}`,
        at: parseTime("at", req.body.at) ?? now,
        fact: req.body.fact,
        actor: req.body.actor,
        ...(req.user ? { by: req.user.email } : {}),
        ...(req.body.reason === undefined ? {} : { reason: req.body.reason }),
      };
      const [seq] = await service.writer.append([factEvent(ws, lead.id, input, now, true)]);
      const outcome = seq == null ? undefined : await service.pipeline.waitFor(ws, seq);
      // A server-side failure: a 500, logged (the fact stays stored, set aside, with its error).
      if (outcome?.failed) throw new Error(outcome.failed);
      const ignored = outcome?.ignored[0];
      if (ignored)
        throw new QualifyError("CONFLICT", `${req.body.fact} ignored: ${ignored.reason}`, [
          { path: "fact", message: ignored.reason },
        ]);
      return {
        lead: await leadDetail(service.db, ws, await loadLead(service.db, ws, lead.id)),
        transitions: outcome?.transitions ?? [],
      };
    },
  );

  r.delete(
    "/api/leads/:id",
    {
      preHandler: requireRole(service, ADMIN),
      schema: {
        tags,
        security,
        summary: "Erase a lead (GDPR): events, traits and state; tombstones stop it coming back",
        params: idParams,
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const { pendingDeleted, ...erased } = await service.pipeline.exclusive(() =>
        eraseLead(service.db, ws, req.params.id),
      );
      // A stage fact of the lead still pending was deleted with it: its request is answered as the
      // pipeline answers a fact whose lead is gone.
      for (const { seq, inputId } of pendingDeleted)
        service.pipeline.settle([seq], {
          leadId: null,
          transitions: [],
          ignored: [{ inputId, reason: "the lead was erased" }],
        });
      return erased;
    },
  );
}
