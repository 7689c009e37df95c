import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import * as z from "zod";
import { QualifyError } from "../../errors.js";
import { sequenceCounts, sequenceEnrollments } from "../../nurture/nurture-queries.js";
import {
  activateSequence,
  checkSequence,
  listSequences,
  pauseSequence,
  saveSequence,
  sequenceVersions,
} from "../../nurture/sequence-store.js";
import { ANY_ROLE, MARKETING, requireRole, workspaceOf } from "../authenticate.js";
import type { Service } from "../service.js";

/** Nurture sequences: YAML with versions (docs/nurture.md), run, pause, and their enrollments. */
export function sequenceRoutes(app: FastifyInstance, service: Service): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ["sequences"];
  const security = [{ bearer: [] }];
  const source = z.string().min(1).describe("the sequence's YAML (docs/nurture.md)");
  const idParam = z.object({ id: z.string().min(1) });
  const read = { preHandler: requireRole(service, ANY_ROLE) };
  const write = { preHandler: requireRole(service, MARKETING) };

  r.get(
    "/api/sequences",
    { ...read, schema: { tags, security, summary: "Sequences: each one's latest version" } },
    async (req) => listSequences(service.db, workspaceOf(req)),
  );

  r.post(
    "/api/sequences/check",
    {
      ...read,
      schema: {
        tags,
        security,
        summary:
          "Validate a sequence (and that its templates exist) without saving it; 422 with each error's line",
        body: z.object({ source }),
      },
    },
    async (req) => ({ ok: true, spec: await checkSequence(service.db, workspaceOf(req), req.body.source) }),
  );

  r.post(
    "/api/sequences",
    {
      ...write,
      schema: {
        tags,
        security,
        summary:
          "Save a new version of a sequence and run it unless activate is false; 422 with each error's line",
        body: z.object({ source, activate: z.boolean().default(true) }),
      },
    },
    async (req, reply) =>
      reply.status(201).send(
        await saveSequence(service.db, workspaceOf(req), req.body.source, {
          activate: req.body.activate,
          by: req.user?.email ?? null,
          now: service.clock(),
        }),
      ),
  );

  r.get(
    "/api/sequences/:id",
    {
      ...read,
      schema: {
        tags,
        security,
        summary:
          "A sequence: versions, enrollments by status and exit reason, active ones by step, and by step its emails by status with opens, clicks (by people) and unsubscribes",
        params: idParam,
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const versions = await sequenceVersions(service.db, ws, req.params.id);
      if (versions.length === 0) throw new QualifyError("NOT_FOUND", `no sequence '${req.params.id}'`);
      return {
        id: req.params.id,
        running: versions.some((v) => v.active),
        versions,
        ...(await sequenceCounts(service.db, ws, req.params.id)),
      };
    },
  );

  r.get(
    "/api/sequences/:id/enrollments",
    {
      ...read,
      schema: {
        tags,
        security,
        summary:
          "A sequence's enrollments, newest first: the lead and its email, current step, next run, steps taken",
        params: idParam,
        querystring: z.object({
          status: z.enum(["active", "completed", "exited"]).optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        }),
      },
    },
    async (req) => ({
      enrollments: await sequenceEnrollments(service.db, workspaceOf(req), req.params.id, {
        limit: req.query.limit,
        ...(req.query.status ? { status: req.query.status } : {}),
      }),
    }),
  );

  r.post(
    "/api/sequences/:id/activate",
    {
      ...write,
      schema: {
        tags,
        security,
        summary:
          "Run a version of the sequence (the latest unless version is given); new entries count from now",
        params: idParam,
        body: z.object({ version: z.number().int().min(1).optional() }).default({}),
      },
    },
    async (req) =>
      activateSequence(
        service.db,
        workspaceOf(req),
        req.params.id,
        req.body.version ?? null,
        service.clock(),
      ),
  );

  r.post(
    "/api/sequences/:id/pause",
    {
      ...write,
      schema: {
        tags,
        security,
        summary: "Pause: no one enters, and enrollments hold until it runs again",
        params: idParam,
      },
    },
    async (req) => {
      await pauseSequence(service.db, workspaceOf(req), req.params.id);
      return { id: req.params.id, running: false };
    },
  );
}
