import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import * as z from "zod";
import { QualifyError } from "../../errors.js";
import {
  ACTION_NAMES,
  type Action,
  type ActionResult,
  actOnHandoff,
  reassignHandoff,
} from "../../handoff/handoff-actions.js";
import { handoffHistory } from "../../handoff/handoff-history.js";
import { handoffJson, loadHandoff } from "../../handoff/handoff-messages.js";
import { listHandoffs, openHandoffOf } from "../../handoff/handoff-queries.js";
import { ADMIN, ANY_ROLE, requireRole, workspaceOf } from "../authenticate.js";
import { findUser } from "../credentials.js";
import { parseTime } from "../explain-lead.js";
import { leadDetail, loadLead, loadLeadByEmail } from "../lead-queries.js";
import type { Service } from "../service.js";

const idParams = z.object({ id: z.string().min(1).describe("handoff id") });
const actionBody = z
  .object({
    reason: z.string().min(1).max(500).optional().describe("reject: one of the routing's rejectionReasons"),
    amount: z.number().min(0).optional().describe("opportunity, won: the deal's amount"),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, "a 3-letter ISO 4217 code such as EUR")
      .optional(),
    at: z.string().optional().describe("when it happened (ISO-8601; default now)"),
  })
  .default({});

/** The engine's answer to the stage fact an action stored. */
async function withOutcome(service: Service, ws: string, r: ActionResult) {
  const outcome = r.seq === null ? undefined : await service.pipeline.waitFor(ws, r.seq);
  if (outcome?.failed) throw new Error(outcome.failed);
  return {
    handoff: r.handoff,
    engine: { transitions: outcome?.transitions ?? [], ignored: outcome?.ignored ?? [] },
  };
}

export function handoffRoutes(app: FastifyInstance, service: Service): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ["handoffs"];
  const security = [{ bearer: [] }];
  const anyone = requireRole(service, ANY_ROLE);

  r.get(
    "/api/handoffs",
    {
      preHandler: anyone,
      schema: {
        tags,
        security,
        summary: "Handoffs, newest first; a sales user sees their own",
        querystring: z.object({
          owner: z.string().optional().describe("'me', a user id or an email (admins and marketers)"),
          status: z
            .string()
            .optional()
            .describe("comma-separated: pending,accepted,converted,opportunity,won,lost,rejected,merged"),
          team: z.string().optional(),
          leadId: z.string().optional(),
          kind: z
            .enum(["mql", "re-mql"])
            .optional()
            .describe("a lead's first MQL, or a re-MQL after a recycle"),
          breached: z.coerce.boolean().optional().describe("only those breached at least once"),
          sort: z
            .enum(["newest", "due"])
            .default("newest")
            .describe("newest assignment first, or soonest SLA due time first (the inbox)"),
          limit: z.coerce.number().int().min(1).max(500).default(50),
          cursor: z.string().optional().describe("nextCursor of the previous page"),
        }),
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const user = req.user as NonNullable<typeof req.user>;
      const q = req.query;
      let owner: string | undefined;
      if (user.role === "sales") owner = user.id;
      else if (q.owner === "me") owner = user.id;
      else if (q.owner !== undefined) owner = (await findUser(service.db, ws, q.owner)).id;
      return listHandoffs(service.db, ws, {
        owner,
        status: q.status
          ?.split(",")
          .map((s) => s.trim())
          .filter(Boolean),
        team: q.team,
        leadId: q.leadId,
        kind: q.kind,
        breached: q.breached,
        sort: q.sort,
        limit: q.limit,
        cursor: q.cursor,
      });
    },
  );

  r.get(
    "/api/handoffs/:id",
    {
      preHandler: anyone,
      schema: {
        tags,
        security,
        summary: "One handoff: its routing decision, SLA, every step, and the lead",
        params: idParams,
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const h = await loadHandoff(service.db, ws, req.params.id);
      const user = req.user as NonNullable<typeof req.user>;
      if (user.role === "sales" && h.owner_id !== user.id)
        throw new QualifyError("FORBIDDEN", `handoff ${h.id} is not yours`);
      return {
        ...handoffJson(h),
        history: await handoffHistory(service.db, ws, h.id),
        lead: await leadDetail(service.db, ws, await loadLead(service.db, ws, h.lead_id)),
      };
    },
  );

  for (const action of ACTION_NAMES) {
    r.post(
      `/api/handoffs/:id/${action}`,
      {
        preHandler: anyone,
        schema: {
          tags,
          security,
          summary: `${action[0]?.toUpperCase()}${action.slice(1)} a handoff (its owner, or an admin); 409 when its status does not allow it`,
          params: idParams,
          body: actionBody,
        },
      },
      async (req) => {
        const ws = workspaceOf(req);
        const user = req.user as NonNullable<typeof req.user>;
        const now = service.clock();
        const result = await actOnHandoff(
          service.db,
          ws,
          req.params.id,
          action as Action,
          { actor: user.role === "admin" ? "admin" : "sales", user },
          { ...req.body, at: parseTime("at", req.body.at) },
          now,
        );
        return withOutcome(service, ws, result);
      },
    );
  }

  r.post(
    "/api/handoffs/:id/reassign",
    {
      preHandler: anyone,
      schema: {
        tags,
        security,
        summary:
          "Give the handoff to another sales user (an admin, or its owner); a pending one's SLA clock restarts",
        params: idParams,
        body: z.object({ owner: z.string().min(1).describe("user id or email of a sales user") }),
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const user = req.user as NonNullable<typeof req.user>;
      const to = await findUser(service.db, ws, req.body.owner);
      return reassignHandoff(
        service.db,
        ws,
        req.params.id,
        to,
        { actor: user.role === "admin" ? "admin" : "sales", user },
        service.clock(),
      );
    },
  );

  r.post(
    "/api/crm/updates",
    {
      preHandler: requireRole(service, ADMIN),
      schema: {
        tags: ["crm"],
        security,
        summary: "Apply a CRM-side change (opportunity created, won or lost) as a stage fact with actor crm",
        body: z.object({
          leadId: z.string().min(1).optional(),
          email: z.string().min(3).optional(),
          type: z.enum(["opportunity.created", "opportunity.won", "opportunity.lost"]),
          amount: z.number().min(0).optional(),
          currency: z
            .string()
            .regex(/^[A-Z]{3}$/, "a 3-letter ISO 4217 code such as EUR")
            .optional(),
          reason: z.string().max(500).optional(),
          at: z.string().optional().describe("when it happened in the CRM (ISO-8601; default now)"),
        }),
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const b = req.body;
      if (b.leadId === undefined && b.email === undefined)
        throw new QualifyError("INPUT_INVALID", "name the lead by leadId or email", [
          { path: "leadId", message: "leadId or email is required" },
        ]);
      const lead =
        b.leadId !== undefined
          ? await loadLead(service.db, ws, b.leadId)
          : await loadLeadByEmail(service.db, ws, b.email as string);
      const action: Action =
        b.type === "opportunity.created" ? "opportunity" : b.type === "opportunity.won" ? "won" : "lost";
      const open = await openHandoffOf(service.db, ws, lead.id);
      const result = await actOnHandoff(
        service.db,
        ws,
        open?.id ?? null,
        action,
        { actor: "crm", user: null },
        { amount: b.amount, currency: b.currency, reason: b.reason, at: parseTime("at", b.at) },
        service.clock(),
        lead.id,
      );
      return withOutcome(service, ws, result);
    },
  );

  r.patch(
    "/api/users/:id",
    {
      preHandler: anyone,
      schema: {
        tags: ["admin"],
        security,
        summary:
          "Set a user's availability, weekly capacity or teams (admins; a sales user their own availability)",
        params: z.object({ id: z.string().min(1).describe("user id or email") }),
        body: z.object({
          available: z.boolean().optional(),
          weeklyCapacity: z
            .number()
            .int()
            .min(0)
            .nullable()
            .optional()
            .describe("most handoffs a week; null: no limit"),
          teams: z.array(z.string().min(1)).optional(),
        }),
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const user = req.user as NonNullable<typeof req.user>;
      const target = await findUser(service.db, ws, req.params.id);
      const b = req.body;
      const self = target.id === user.id && b.weeklyCapacity === undefined && b.teams === undefined;
      if (user.role !== "admin" && !self)
        throw new QualifyError("FORBIDDEN", "only an admin may change another user, or capacity and teams");
      const rows = await service.db.query(
        `update users set available = coalesce($3, available),
           weekly_capacity = case when $4 then $5::integer else weekly_capacity end,
           teams = coalesce($6, teams)
         where workspace_id = $1 and id = $2
         returning id, email, name, role, teams, available, weekly_capacity as "weeklyCapacity"`,
        [
          ws,
          target.id,
          b.available ?? null,
          b.weeklyCapacity !== undefined,
          b.weeklyCapacity ?? null,
          b.teams ?? null,
        ],
      );
      return rows[0];
    },
  );

  r.put(
    "/api/accounts/:id",
    {
      preHandler: requireRole(service, ADMIN),
      schema: {
        tags: ["admin"],
        security,
        summary: "Set an account's owner (its leads go to them first) and whether it is a customer",
        params: z.object({ id: z.string().min(1).describe("account id (groupId)") }),
        body: z.object({
          owner: z
            .string()
            .min(1)
            .nullable()
            .optional()
            .describe("user id or email of a sales user; null clears"),
          customer: z.boolean().optional(),
        }),
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const b = req.body;
      const owner = b.owner ? await findUser(service.db, ws, b.owner) : null;
      if (owner && owner.role !== "sales")
        throw new QualifyError("INPUT_INVALID", `${owner.email} is not a sales user`, [
          { path: "owner", message: "must be a sales user" },
        ]);
      const rows = await service.db.query(
        `update accounts set owner_id = case when $3 then $4 else owner_id end,
           customer = coalesce($5, customer), updated_at = now()
         where workspace_id = $1 and id = $2
         returning id, domain, traits, owner_id as "ownerId", customer`,
        [ws, req.params.id, b.owner !== undefined, owner?.id ?? null, b.customer ?? null],
      );
      if (rows.length === 0) throw new QualifyError("NOT_FOUND", `no account ${req.params.id}`);
      return rows[0];
    },
  );
}
