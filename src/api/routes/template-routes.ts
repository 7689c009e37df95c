import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import * as z from "zod";
import { QualifyError } from "../../errors.js";
import { loadLeadView } from "../../nurture/lead-view.js";
import { loadSettings } from "../../nurture/nurture-settings.js";
import { renderTemplate, templateVarsFor } from "../../nurture/render-template.js";
import { loadTemplate, templateVariables } from "../../nurture/template-spec.js";
import { getTemplate, listTemplates, saveTemplate, templateVersions } from "../../nurture/template-store.js";
import { ANY_ROLE, MARKETING, requireRole, workspaceOf } from "../authenticate.js";
import type { Service } from "../service.js";

/** Email templates (subject, HTML and text in Liquid): YAML, stored with versions, previewed per lead. */
export function templateRoutes(app: FastifyInstance, service: Service): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ["templates"];
  const security = [{ bearer: [] }];
  const source = z.string().min(1).describe("the template's YAML (docs/templates.md)");
  const id = z.string().min(1).describe("the template's id");
  const version = z.coerce.number().int().min(1).describe("a version number");

  const found = async (ws: string, tid: string, v?: number) => {
    const t = await getTemplate(service.db, ws, tid, v);
    if (!t)
      throw new QualifyError("NOT_FOUND", `no template '${tid}'${v === undefined ? "" : ` version ${v}`}`);
    return t;
  };

  r.get(
    "/api/templates",
    {
      preHandler: requireRole(service, ANY_ROLE),
      schema: { tags, security, summary: "Every template's latest version, with its number of versions" },
    },
    async (req) => listTemplates(service.db, workspaceOf(req)),
  );

  r.post(
    "/api/templates/check",
    {
      preHandler: requireRole(service, ANY_ROLE),
      schema: {
        tags,
        security,
        summary: "Validate a template without saving it (422 with each error's line); lists its variables",
        body: z.object({ source }),
      },
    },
    async (req) => {
      const spec = loadTemplate(req.body.source);
      return { ok: true, spec, variables: templateVariables(spec) };
    },
  );

  r.post(
    "/api/templates",
    {
      preHandler: requireRole(service, MARKETING),
      schema: {
        tags,
        security,
        summary: "Save a template as its next version (validated; 422 with each error's line)",
        body: z.object({ source }),
      },
    },
    async (req, reply) => {
      const saved = await saveTemplate(service.db, workspaceOf(req), req.body.source, {
        by: req.user?.email ?? null,
        now: service.clock(),
      });
      return reply.status(201).send({ ...saved, variables: templateVariables(saved.spec) });
    },
  );

  r.get(
    "/api/templates/:id",
    {
      preHandler: requireRole(service, ANY_ROLE),
      schema: {
        tags,
        security,
        summary: "A template's latest version, its variables and its versions (newest first)",
        params: z.object({ id }),
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const t = await found(ws, req.params.id);
      const versions = await templateVersions(service.db, ws, t.id);
      return { ...t, variables: templateVariables(t.spec), versions };
    },
  );

  r.get(
    "/api/templates/:id/versions/:version",
    {
      preHandler: requireRole(service, ANY_ROLE),
      schema: { tags, security, summary: "One version of a template", params: z.object({ id, version }) },
    },
    async (req) => {
      const t = await found(workspaceOf(req), req.params.id, req.params.version);
      return { ...t, variables: templateVariables(t.spec) };
    },
  );

  r.post(
    "/api/templates/:id/preview",
    {
      preHandler: requireRole(service, ANY_ROLE),
      schema: {
        tags,
        security,
        summary:
          "Render a template for a lead (its traits and account), or for traits given here, without sending it",
        params: z.object({ id }),
        body: z
          .object({
            leadId: z
              .string()
              .min(1)
              .optional()
              .describe("a lead whose traits and account fill the template"),
            traits: z
              .record(z.string(), z.unknown())
              .optional()
              .describe("lead traits, over the lead's own when leadId is given"),
            account: z
              .record(z.string(), z.unknown())
              .optional()
              .describe("account traits, over the lead's account's when leadId is given"),
            version: z.number().int().min(1).optional().describe("a version; the latest when left out"),
          })
          .default({}),
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const t = await found(ws, req.params.id, req.body.version);
      let lead = { email: null as string | null, name: null as string | null, traits: {}, account: {} };
      if (req.body.leadId) {
        let view = await loadLeadView(service.db, ws, req.body.leadId);
        if (view?.mergedInto) view = await loadLeadView(service.db, ws, view.mergedInto);
        if (!view) throw new QualifyError("NOT_FOUND", `no lead '${req.body.leadId}'`);
        lead = view;
      }
      const settings = await loadSettings(service.db, ws);
      const vars = templateVarsFor(
        {
          email: lead.email,
          name: lead.name,
          traits: { ...lead.traits, ...req.body.traits },
          account: { ...lead.account, ...req.body.account },
        },
        {
          unsubscribeUrl: `${req.protocol}://${req.host}/unsubscribe/preview`,
          postalAddress: settings.postalAddress ?? "(the postal address: set it in the nurture settings)",
          from: settings.from ?? service.config.smtpFrom,
        },
      );
      return { id: t.id, version: t.version, ...renderTemplate(t.spec, vars) };
    },
  );
}
