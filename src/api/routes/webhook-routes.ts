import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import * as z from "zod";
import { QualifyError } from "../../errors.js";
import {
  type DeliveryStatus,
  getDelivery,
  listDeliveries,
  retryDead,
  retryDelivery,
} from "../../handoff/webhooks/deliveries.js";
import { forgetScoreWatch } from "../../handoff/webhooks/score-changes.js";
import {
  createSubscription,
  EVENT_TYPES,
  getSubscription,
  listSubscriptions,
  removeSubscription,
  subscriptionJson,
  updateSubscription,
} from "../../handoff/webhooks/subscriptions.js";
import { sendTestDelivery } from "../../handoff/webhooks/test-delivery.js";
import { MARKETING, requireRole, workspaceOf } from "../authenticate.js";
import type { Service } from "../service.js";

/** Webhook (and email) subscriptions and their deliveries: docs/webhooks.md. */
export function webhookRoutes(app: FastifyInstance, service: Service): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ["webhooks"];
  const security = [{ bearer: [] }];
  const marketing = requireRole(service, MARKETING);
  const windowMs = () => service.config.webhookRetryHours * 3_600_000;

  // Checked by the subscription itself, whose message names the unknown type.
  const events = z
    .array(z.string().min(1).max(100))
    .max(EVENT_TYPES.length)
    .describe(`event types to receive: ${EVENT_TYPES.join(", ")}`);
  const settings = {
    name: z.string().max(200).nullable().optional().describe("what it is for"),
    url: z.string().max(2000).nullable().optional().describe("kind webhook: the http(s) URL to POST to"),
    emailTo: z
      .array(z.string().max(320))
      .max(20)
      .nullable()
      .optional()
      .describe("kind email: fixed recipients instead of the lead's owner"),
    format: z
      .enum(["json", "slack"])
      .optional()
      .describe("json (default): payload v1; slack: a {text, blocks} message"),
    minScoreDelta: z
      .number()
      .min(0)
      .nullable()
      .optional()
      .describe("lead.score_changed: notify only when a score moves by at least this much"),
    scoreGroup: z
      .string()
      .max(100)
      .nullable()
      .optional()
      .describe("lead.score_changed: the score group whose change counts (default: any)"),
    active: z.boolean().optional(),
  };
  const idParams = z.object({ id: z.string().min(1).describe("subscription id (wh_…)") });
  const deliveryParams = z.object({ id: z.coerce.number().int().min(1).describe("delivery id") });
  const deliveryQuery = z.object({
    status: z.string().optional().describe("comma-separated: pending,delivered,dead"),
    eventId: z.string().optional().describe("the payload id (evt_…)"),
    leadId: z.string().optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().optional().describe("nextCursor of the previous page"),
  });
  const statuses = (s: string | undefined): DeliveryStatus[] | undefined => {
    const list = s
      ?.split(",")
      .map((x) => x.trim())
      .filter(Boolean);
    for (const x of list ?? [])
      if (!["pending", "delivered", "dead"].includes(x))
        throw new QualifyError("INPUT_INVALID", `status: unknown status '${x}'`, [
          { path: "status", message: "one of pending, delivered, dead" },
        ]);
    return list as DeliveryStatus[] | undefined;
  };
  const changed = (ws: string) => {
    forgetScoreWatch(service.db, ws);
    service.webhooks.wake();
  };

  r.get(
    "/api/webhooks",
    { preHandler: marketing, schema: { tags, security, summary: "Webhook and email subscriptions" } },
    async (req) => ({
      subscriptions: (await listSubscriptions(service.db, workspaceOf(req))).map(subscriptionJson),
    }),
  );

  r.post(
    "/api/webhooks",
    {
      preHandler: marketing,
      schema: {
        tags,
        security,
        summary: "Add a subscription; the answer holds its signing secret, shown this once",
        body: z.object({
          kind: z
            .enum(["webhook", "email"])
            .default("webhook")
            .describe("email: mail the lead's owner over SMTP"),
          events,
          secret: z.string().min(16).max(200).optional().describe("signing secret; generated when not given"),
          ...settings,
        }),
      },
    },
    async (req, reply) => {
      const ws = workspaceOf(req);
      if (req.body.kind === "email" && !service.config.smtpUrl)
        throw new QualifyError("INPUT_INVALID", "kind: email needs SMTP_URL set on the server", [
          { path: "kind", message: "SMTP_URL is not set" },
        ]);
      const s = await createSubscription(service.db, ws, req.body, req.user?.email ?? null, service.clock());
      changed(ws);
      return reply.status(201).send({ ...subscriptionJson(s), secret: s.secret });
    },
  );

  r.get(
    "/api/webhooks/:id",
    {
      preHandler: marketing,
      schema: {
        tags,
        security,
        summary: "One subscription, with counts of its deliveries",
        params: idParams,
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const s = await getSubscription(service.db, ws, req.params.id);
      const counts = await service.db.query<{ status: string; n: number }>(
        `select status, count(*)::int as n from webhook_deliveries
         where workspace_id = $1 and subscription_id = $2 group by status`,
        [ws, s.id],
      );
      return {
        ...subscriptionJson(s),
        deliveries: Object.fromEntries(
          ["pending", "delivered", "dead"].map((k) => [k, counts.find((c) => c.status === k)?.n ?? 0]),
        ),
      };
    },
  );

  r.patch(
    "/api/webhooks/:id",
    {
      preHandler: marketing,
      schema: {
        tags,
        security,
        summary: "Change a subscription (only what is given); rotateSecret answers the new secret once",
        params: idParams,
        body: z.object({
          events: events.optional(),
          rotateSecret: z
            .union([z.boolean(), z.string().min(16).max(200)])
            .optional()
            .describe("true: generate a new secret; a string: use it"),
          ...settings,
        }),
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const s = await service.db.transaction((tx) =>
        updateSubscription(tx, ws, req.params.id, req.body, service.clock()),
      );
      changed(ws);
      return { ...subscriptionJson(s), ...(req.body.rotateSecret ? { secret: s.secret } : {}) };
    },
  );

  r.delete(
    "/api/webhooks/:id",
    {
      preHandler: marketing,
      schema: { tags, security, summary: "Remove a subscription and its deliveries", params: idParams },
    },
    async (req, reply) => {
      const ws = workspaceOf(req);
      await removeSubscription(service.db, ws, req.params.id);
      changed(ws);
      return reply.status(204).send();
    },
  );

  r.post(
    "/api/webhooks/:id/test",
    {
      preHandler: marketing,
      schema: {
        tags,
        security,
        summary: "Queue a webhook.test delivery to the subscription (an email one goes to you)",
        params: idParams,
      },
    },
    async (req, reply) => {
      const ws = workspaceOf(req);
      const s = await getSubscription(service.db, ws, req.params.id);
      const d = await sendTestDelivery(
        service.db,
        ws,
        s,
        req.user?.email ?? null,
        service.clock(),
        windowMs(),
      );
      service.webhooks.wake();
      return reply.status(202).send(d);
    },
  );

  r.post(
    "/api/webhooks/:id/retry",
    {
      preHandler: marketing,
      schema: {
        tags,
        security,
        summary: "Send every dead-lettered delivery of the subscription again now",
        params: idParams,
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      await getSubscription(service.db, ws, req.params.id);
      const retried = await retryDead(service.db, ws, req.params.id, service.clock());
      service.webhooks.wake();
      return { retried };
    },
  );

  r.get(
    "/api/webhooks/:id/deliveries",
    {
      preHandler: marketing,
      schema: {
        tags,
        security,
        summary: "A subscription's deliveries, newest first: attempts, last status and error, next retry",
        params: idParams,
        querystring: deliveryQuery,
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      await getSubscription(service.db, ws, req.params.id);
      const q = req.query;
      return listDeliveries(
        service.db,
        ws,
        { ...q, subscriptionId: req.params.id, status: statuses(q.status) },
        windowMs(),
      );
    },
  );

  r.get(
    "/api/webhooks/deliveries",
    {
      preHandler: marketing,
      schema: {
        tags,
        security,
        summary: "Deliveries of every subscription, newest first (status=dead: the dead letters)",
        querystring: deliveryQuery,
      },
    },
    async (req) => {
      const q = req.query;
      return listDeliveries(service.db, workspaceOf(req), { ...q, status: statuses(q.status) }, windowMs());
    },
  );

  r.get(
    "/api/webhooks/deliveries/:id",
    {
      preHandler: marketing,
      schema: { tags, security, summary: "One delivery, with the body it sends", params: deliveryParams },
    },
    async (req) => getDelivery(service.db, workspaceOf(req), req.params.id, windowMs()),
  );

  r.post(
    "/api/webhooks/deliveries/:id/retry",
    {
      preHandler: marketing,
      schema: {
        tags,
        security,
        summary:
          "Send a dead-lettered (or waiting) delivery again now, with a fresh retry window; 409 if delivered",
        params: deliveryParams,
      },
    },
    async (req) => {
      const d = await retryDelivery(service.db, workspaceOf(req), req.params.id, service.clock(), windowMs());
      service.webhooks.wake();
      return d;
    },
  );
}
