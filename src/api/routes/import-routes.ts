import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import * as z from "zod";
import type { FactInput } from "../../engine/index.js";
import { factEvent, type NewEvent } from "../../ingest/append-events.js";
import { parseSegmentEvent } from "../../ingest/parse-segment-event.js";
import { OUTCOME_KINDS } from "../../lab/import/lead-mapping.js";
import { ANY_ROLE, MARKETING, requireRole, workspaceOf } from "../authenticate.js";
import type { Service } from "../service.js";

/**
 * History import: chunks of NDJSON lines (Segment calls, as exported). Each line's own timestamp is
 * its time; nothing is corrected for skew. Transitions are made as live; notifications only with
 * `notify`. The pipeline route tells a client when processing has caught up.
 */
export function importRoutes(app: FastifyInstance, service: Service): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const security = [{ bearer: [] }];

  r.post(
    "/api/import",
    {
      preHandler: requireRole(service, MARKETING),
      config: { bodyLimit: 64 * 1024 * 1024 },
      schema: {
        tags: ["import"],
        security,
        summary:
          "Import a chunk of NDJSON lines of history; answers with what was stored and each rejected line",
        body: z.object({
          lines: z.array(z.string()).max(50_000),
          firstLine: z
            .number()
            .int()
            .min(1)
            .default(1)
            .describe("the file line number of lines[0], for reports"),
          notify: z
            .boolean()
            .default(false)
            .describe("send notifications for the transitions the import makes"),
        }),
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const receivedAt = service.clock();
      const rows: NewEvent[] = [];
      const rejected: { line: number; field: string; reason: string }[] = [];
      req.body.lines.forEach((text, i) => {
        const line = req.body.firstLine + i;
        if (text.trim() === "") return;
        let raw: unknown;
        try {
          raw = JSON.parse(text);
        } catch (e) {
          rejected.push({ line, field: "(line)", reason: `not valid JSON: ${(e as Error).message}` });
          return;
        }
        const p = parseSegmentEvent(raw);
        if (!p.ok) {
          rejected.push({ line, field: p.field, reason: p.reason });
          return;
        }
        rows.push({
          workspaceId: ws,
          kind: "event",
          type: p.event.input.type,
          userId: p.event.userId ?? null,
          anonymousId: p.event.anonymousId ?? null,
          previousId: p.event.previousId ?? null,
          leadId: null,
          receivedAt,
          input: p.event.input,
          notify: req.body.notify,
        });
      });
      const seqs = await service.writer.append(rows);
      const accepted = seqs.filter((s) => s !== null).length;
      service.metrics.ingested.inc({ endpoint: "import" }, accepted);
      service.metrics.rejected.inc({ reason: "import" }, rejected.length);
      const lastSeq = seqs.reduce<number | null>(
        (m, s) => (s !== null && (m === null || s > m) ? s : m),
        null,
      );
      return { accepted, duplicates: rows.length - accepted, rejected, lastSeq };
    },
  );

  r.post(
    "/api/import/outcomes",
    {
      preHandler: requireRole(service, MARKETING),
      config: { bodyLimit: 16 * 1024 * 1024 },
      schema: {
        tags: ["import"],
        security,
        summary:
          "Record imported outcomes (converted, opportunity, won) of leads named by userId, as stage facts with actor crm",
        body: z.object({
          outcomes: z
            .array(
              z.object({
                userId: z.string().min(1),
                outcome: z.enum(OUTCOME_KINDS),
                at: z.number().int().optional().describe("when (epoch ms; default now)"),
                line: z.number().int().min(1).optional().describe("the file line, for reports"),
              }),
            )
            .max(50_000),
        }),
      },
    },
    async (req) => {
      const ws = workspaceOf(req);
      const now = service.clock();
      const ids = [...new Set(req.body.outcomes.map((o) => o.userId))];
      const found = await service.db.query<{ id: string; user_id: string }>(
        "select id, user_id from leads where workspace_id = $1 and user_id = any($2) and merged_into is null",
        [ws, ids],
      );
      const leadOf = new Map(found.map((l) => [l.user_id, l.id]));
      const rows: NewEvent[] = [];
      const rejected: { line: number; field: string; reason: string }[] = [];
      req.body.outcomes.forEach((o, i) => {
        const leadId = leadOf.get(o.userId);
        if (leadId === undefined) {
          rejected.push({
            line: o.line ?? i + 1,
            field: "userId",
            reason: `no lead has userId '${o.userId}'`,
          });
          return;
        }
        const input: FactInput = {
          kind: "fact",
          // One fact per lead and outcome: importing the file again records nothing twice.
          id: `import:${o.userId}:${o.outcome}`,
          at: o.at ?? now,
          fact: o.outcome,
          actor: "crm",
          reason: "imported",
        };
        rows.push(factEvent(ws, leadId, input, now, false));
      });
      const seqs = await service.writer.append(rows);
      return { recorded: seqs.filter((s) => s !== null).length, rejected };
    },
  );

  r.get(
    "/api/pipeline",
    {
      preHandler: requireRole(service, ANY_ROLE),
      schema: {
        tags: ["operations"],
        security,
        summary: "Processing status: events pending (up to `through`, a seq), processed, lag",
        querystring: z.object({
          through: z.coerce
            .number()
            .int()
            .min(0)
            .optional()
            .describe("count only events stored up to this seq"),
        }),
      },
    },
    async (req) => {
      const rows = await service.db.query<{ n: number }>(
        "select count(*)::int as n from events where workspace_id = $1 and not processed and seq <= $2",
        [workspaceOf(req), req.query.through ?? Number.MAX_SAFE_INTEGER],
      );
      return { pending: rows[0]?.n ?? 0, ...service.pipeline.stats };
    },
  );
}
