import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import * as z from "zod";
import { QualifyError } from "../../errors.js";
import { loadStanding } from "../../nurture/lead-standing.js";
import { loadLeadView } from "../../nurture/lead-view.js";
import {
  consentHistory,
  leadEnrollments,
  listAttempts,
  listSuppressions,
} from "../../nurture/nurture-queries.js";
import { loadSettings, saveSettings } from "../../nurture/nurture-settings.js";
import { setConsent, unsubscribe } from "../../nurture/unsubscribe.js";
import { ADMIN, ANY_ROLE, MARKETING, requireRole, workspaceOf } from "../authenticate.js";
import type { Service } from "../service.js";

/** Nurture's settings, a lead's nurture state and consent, email attempts and the suppression list. */
export function nurtureRoutes(app: FastifyInstance, service: Service): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ["nurture"];
  const security = [{ bearer: [] }];
  const read = { preHandler: requireRole(service, ANY_ROLE) };
  const write = { preHandler: requireRole(service, MARKETING) };
  const leadParam = z.object({ id: z.string().min(1) });

  r.get(
    "/api/nurture/settings",
    { ...read, schema: { tags, security, summary: "Nurture settings, with defaults filled in" } },
    async (req) => loadSettings(service.db, workspaceOf(req)),
  );

  r.put(
    "/api/nurture/settings",
    {
      preHandler: requireRole(service, ADMIN),
      schema: {
        tags,
        security,
        summary:
          "Replace the nurture settings (postalAddress, from, quietHours, frequencyCap, defaultTimeZone, defaultConsent, consentTrait, consentCategory, botClickWindow); 422 naming each bad field",
        body: z.record(z.string(), z.unknown()),
      },
    },
    async (req) => saveSettings(service.db, workspaceOf(req), req.body),
  );

  const lead = async (ws: string, id: string) => {
    const v = await loadLeadView(service.db, ws, id);
    if (!v) throw new QualifyError("NOT_FOUND", `no lead ${id}`);
    return v;
  };

  r.get(
    "/api/leads/:id/nurture",
    {
      ...read,
      schema: {
        tags,
        security,
        summary:
          "A lead's nurture state: email standing (consent, suppression, do-not-email, zone), enrollments, emails, consent history",
        params: leadParam,
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const v = await lead(ws, req.params.id);
      const settings = await loadSettings(service.db, ws);
      const standing = await loadStanding(service.db, ws, v);
      return {
        leadId: v.id,
        email: v.email,
        standing: { ...standing, consentGranted: standing.consent ?? settings.defaultConsent === "opt-out" },
        enrollments: await leadEnrollments(service.db, ws, v.id),
        emails: await listAttempts(service.db, ws, { leadId: v.id, limit: 100 }),
        consent: await consentHistory(service.db, ws, v.id),
      };
    },
  );

  r.put(
    "/api/leads/:id/email-consent",
    {
      ...write,
      schema: {
        tags,
        security,
        summary:
          "Record the lead's email consent (granted true/false), e.g. from a signed form; a recorded change",
        params: leadParam,
        body: z.object({ granted: z.boolean() }),
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const v = await lead(ws, req.params.id);
      const changed = await service.db.transaction((tx) =>
        setConsent(tx, ws, v.id, {
          email: v.email,
          granted: req.body.granted,
          source: "api",
          at: service.clock(),
        }),
      );
      return { leadId: v.id, granted: req.body.granted, changed };
    },
  );

  r.get(
    "/api/email/attempts",
    {
      ...read,
      schema: {
        tags,
        security,
        summary:
          "Marketing emails, newest first; status=unknown lists those a crash left without an outcome (never resent)",
        querystring: z.object({
          status: z
            .enum(["queued", "sending", "sent", "bounced", "failed", "unknown", "suppressed"])
            .optional(),
          lead: z.string().optional(),
          sequence: z.string().optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        }),
      },
    },
    async (req) => ({
      attempts: await listAttempts(service.db, workspaceOf(req), {
        limit: req.query.limit,
        ...(req.query.status ? { status: req.query.status } : {}),
        ...(req.query.lead ? { leadId: req.query.lead } : {}),
        ...(req.query.sequence ? { sequence: req.query.sequence } : {}),
      }),
    }),
  );

  r.get(
    "/api/email/suppressions",
    {
      ...read,
      schema: {
        tags,
        security,
        summary: "Addresses no marketing email goes to (unsubscribed, bounced, manual)",
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(10_000).default(1000) }),
      },
    },
    async (req) => ({ suppressions: await listSuppressions(service.db, workspaceOf(req), req.query.limit) }),
  );

  r.post(
    "/api/email/suppressions",
    {
      ...write,
      schema: {
        tags,
        security,
        summary: "Suppress an address by hand (it gets no marketing email; its lead's enrollments end)",
        body: z.object({ email: z.email(), detail: z.string().max(500).optional() }),
      },
    },
    async (req, reply) => {
      const ws = workspaceOf(req);
      const email = req.body.email.toLowerCase();
      await service.db.transaction(async (tx) => {
        const leads = await tx.query<{ id: string }>(
          "select id from leads where workspace_id = $1 and lower(email) = $2 and merged_into is null",
          [ws, email],
        );
        await unsubscribe(tx, ws, {
          leadId: leads[0]?.id ?? null,
          email,
          source: "api",
          detail: req.body.detail ?? `by ${req.user?.email ?? "an admin"}`,
          at: service.clock(),
        });
        await tx.query(
          "update email_suppressions set reason = 'manual' where workspace_id = $1 and email = $2",
          [ws, email],
        );
      });
      return reply.status(201).send({ email, reason: "manual" });
    },
  );

  r.delete(
    "/api/email/suppressions/:email",
    {
      preHandler: requireRole(service, ADMIN),
      schema: {
        tags,
        security,
        summary: "Lift a suppression (admins only; consent must still be granted for email to go)",
        params: z.object({ email: z.string().min(3) }),
      },
    },
    async (req) => {
      const rows = await service.db.query(
        "delete from email_suppressions where workspace_id = $1 and email = lower($2) returning 1",
        [workspaceOf(req), req.params.email],
      );
      if (rows.length === 0) throw new QualifyError("NOT_FOUND", `${req.params.email} is not suppressed`);
      return { email: req.params.email.toLowerCase(), suppressed: false };
    },
  );
}
