import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import * as z from "zod";
import { accountabilityReport } from "../../analytics/accountability-report.js";
import { attributionReport } from "../../analytics/attribution-report.js";
import { funnelReport } from "../../analytics/funnel-report.js";
import { pathsReport } from "../../analytics/paths-report.js";
import { reportFilter, reportQuerySchema } from "../../analytics/report-filter.js";
import {
  catchUpRollup,
  loadAnalyticsConfig,
  saveAnalyticsConfig,
  storedAnalyticsConfig,
} from "../../analytics/rollup.js";
import { velocityReport } from "../../analytics/velocity-report.js";
import { QualifyError } from "../../errors.js";
import { MARKETING, requireRole, workspaceOf } from "../authenticate.js";
import type { Service } from "../service.js";

/**
 * The analytics reports (docs/analytics.md). Each first brings the rollups up to date with the
 * stored facts, so that every report counts the same leads.
 */
export function analyticsRoutes(app: FastifyInstance, service: Service): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ["analytics"];
  const security = [{ bearer: [] }];

  r.get(
    "/api/analytics/funnel",
    {
      preHandler: requireRole(service, MARKETING),
      schema: {
        tags,
        security,
        summary:
          "The funnel (visitor → lead → MQL → SAL → SQL → opportunity → customer): counts and stage-to-stage rates, by date range or by cohort (the week or month leads became leads), with filters and a breakdown",
        querystring: reportQuerySchema.extend({
          view: z.enum(["range", "cohort"]).default("range"),
          period: z.enum(["week", "month"]).default("week"),
        }),
      },
    },
    async (req) => {
      const ws = await caughtUp(req);
      return funnelReport(service.db, ws, reportFilter(req.query), req.query.view, req.query.period);
    },
  );

  r.get(
    "/api/analytics/velocity",
    {
      preHandler: requireRole(service, MARKETING),
      schema: {
        tags,
        security,
        summary:
          "Velocity: median and p75 time from first touch to lead, lead to MQL, MQL to accepted, MQL to SQL and MQL to won (intervals ending in the range), and time in each stage",
        querystring: reportQuerySchema,
      },
    },
    async (req) => velocityReport(service.db, await caughtUp(req), reportFilter(req.query)),
  );

  r.get(
    "/api/analytics/handoffs",
    {
      preHandler: requireRole(service, MARKETING),
      schema: {
        tags,
        security,
        summary:
          "The handoff's accountability: SLA compliance per owner and team, rejection reasons ranked, recycle and re-MQL rates, MQLs per week against sales capacity",
        querystring: reportQuerySchema,
      },
    },
    async (req) =>
      accountabilityReport(service.db, await caughtUp(req), reportFilter(req.query), service.clock()),
  );

  r.get(
    "/api/analytics/paths",
    {
      preHandler: requireRole(service, MARKETING),
      schema: {
        tags,
        security,
        summary:
          "Conversion paths: the most frequent ordered touchpoint types before MQL (leads created in the range) and before won (MQLs in the range), with counts and conversion rates",
        querystring: reportQuerySchema.extend({ limit: z.coerce.number().int().min(1).max(500).default(20) }),
      },
    },
    async (req) => pathsReport(service.db, await caughtUp(req), reportFilter(req.query), req.query.limit),
  );

  r.get(
    "/api/analytics/attribution",
    {
      preHandler: requireRole(service, MARKETING),
      schema: {
        tags,
        security,
        summary:
          "Attribution of leads, MQLs, SQLs, opportunities and won revenue to channels, sources or campaigns (by=), under first touch, last touch, linear, U-shaped and W-shaped side by side",
        querystring: reportQuerySchema,
      },
    },
    async (req) => {
      const by = req.query.by ?? "channel";
      if (by !== "channel" && by !== "source" && by !== "campaign")
        throw new QualifyError(
          "INPUT_INVALID",
          `by: attribution is by channel, source or campaign, not ${by}`,
          [{ path: "by", message: "expected channel, source or campaign" }],
        );
      return attributionReport(service.db, await caughtUp(req), reportFilter(req.query), by);
    },
  );

  r.get(
    "/api/analytics/config",
    {
      preHandler: requireRole(service, MARKETING),
      schema: {
        tags,
        security,
        summary: "The analytics configuration as saved (`saved`) and in effect with defaults (`effective`)",
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const saved = await storedAnalyticsConfig(service.db, ws);
      return { saved, effective: await loadAnalyticsConfig(service.db, ws) };
    },
  );

  r.put(
    "/api/analytics/config",
    {
      preHandler: requireRole(service, MARKETING),
      schema: {
        tags,
        security,
        summary:
          "Replace the analytics configuration (sessionGapMinutes, channels, touchTypes, collapseRepeats); 422 naming each bad field. The rollups are rebuilt under it.",
        body: z.record(z.string(), z.unknown()),
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const effective = await service.db.transaction((tx) => saveAnalyticsConfig(tx, ws, req.body));
      return { saved: req.body, effective };
    },
  );

  /** The request's workspace, its rollups brought up to date. */
  async function caughtUp(req: FastifyRequest): Promise<string> {
    const ws = workspaceOf(req);
    await catchUpRollup(service.db, ws);
    return ws;
  }
}
