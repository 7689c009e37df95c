import type { FastifyInstance } from "fastify";
import type { Service } from "../service.js";

/** Liveness, readiness and Prometheus metrics; no authentication, and nothing personal in them. */
export function operationsRoutes(app: FastifyInstance, service: Service): void {
  const tags = ["operations"];
  app.get("/healthz", { schema: { tags, summary: "The process is up" } }, async () => ({ ok: true }));

  app.get(
    "/readyz",
    { schema: { tags, summary: "The database answers and the pipeline runs" } },
    async (_req, reply) => {
      try {
        await service.db.query("select 1");
        const pending = await service.db.query<{ n: number }>(
          "select count(*)::int as n from events where not processed",
        );
        return {
          ready: true,
          pendingEvents: pending[0]?.n ?? 0,
          pipelineErrors: service.pipeline.stats.errors,
        };
      } catch (e) {
        return reply
          .status(503)
          .header("retry-after", "5")
          .send({
            ready: false,
            error: "NOT_READY",
            message: "the database does not answer; the service recovers by itself once it does",
            reason: (e as Error).message,
          });
      }
    },
  );

  app.get("/metrics", { schema: { tags, summary: "Prometheus metrics" } }, async (_req, reply) => {
    const pending = await service.db.query<{ n: number }>(
      "select count(*)::int as n from events where not processed",
    );
    service.metrics.pending.set(pending[0]?.n ?? 0);
    return reply.type(service.metrics.registry.contentType).send(await service.metrics.registry.metrics());
  });
}
