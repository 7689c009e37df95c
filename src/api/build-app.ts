import fastifyCookie from "@fastify/cookie";
import fastifySwagger from "@fastify/swagger";
import fastifySwaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyInstance } from "fastify";
import { jsonSchemaTransform, validatorCompiler } from "fastify-type-provider-zod";
import { registerBodyParser } from "../ingest/read-body.js";
import { segmentRoutes } from "../ingest/segment-routes.js";
import { serveDashboard } from "../web/serve-dashboard.js";
import { sessionRoutes } from "../web/session-routes.js";
import { installErrorHandler } from "./http-errors.js";
import { adminRoutes } from "./routes/admin-routes.js";
import { analyticsRoutes } from "./routes/analytics-routes.js";
import { audienceRoutes } from "./routes/audience-routes.js";
import { demoRoutes } from "./routes/demo-routes.js";
import { emailRoutes } from "./routes/email-routes.js";
import { handoffRoutes } from "./routes/handoff-routes.js";
import { importRoutes } from "./routes/import-routes.js";
import { labRoutes } from "./routes/lab-routes.js";
import { leadRoutes } from "./routes/lead-routes.js";
import { modelRoutes } from "./routes/model-routes.js";
import { nurtureRoutes } from "./routes/nurture-routes.js";
import { operationsRoutes } from "./routes/operations-routes.js";
import { personalizeRoutes } from "./routes/personalize-routes.js";
import { routingRoutes } from "./routes/routing-routes.js";
import { sequenceRoutes } from "./routes/sequence-routes.js";
import { templateRoutes } from "./routes/template-routes.js";
import { webhookRoutes } from "./routes/webhook-routes.js";
import type { Service } from "./service.js";

/** Secrets never reach the log. */
export const REDACT = [
  "req.headers.authorization",
  "headers.authorization",
  "authorization",
  "writeKey",
  "body.writeKey",
  "token",
  "key",
  "adminToken",
  "password",
  "currentPassword",
  "req.headers.cookie",
];

/**
 * The HTTP application: Segment ingest, the API, operations routes and the OpenAPI document. Request
 * schemas are zod; the same schemas validate requests and generate /openapi.json.
 */
export async function buildApp(service: Service): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: service.config.logLevel, redact: { paths: REDACT, censor: "[redacted]" } },
    bodyLimit: 64 * 1024 * 1024,
  });
  app.decorateRequest("user", null);
  app.setValidatorCompiler(validatorCompiler);
  registerBodyParser(app);
  await app.register(fastifyCookie);
  installErrorHandler(app);
  app.addHook("onResponse", async (req, reply) => {
    service.metrics.latency.observe(
      { method: req.method, route: req.routeOptions.url ?? "unknown", status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Qualify API",
        version: "0.1.0",
        description:
          "Segment-compatible ingest (write key) and the Qualify API (bearer token). Errors are JSON: " +
          "{error, message, field, reason, details}.",
      },
      components: {
        securitySchemes: {
          writeKey: {
            type: "http",
            scheme: "basic",
            description: "the write key as the user name, empty password",
          },
          bearer: { type: "http", scheme: "bearer", description: "an API token" },
          session: {
            type: "apiKey",
            in: "cookie",
            name: "qualify_session",
            description:
              "the dashboard's session (POST /api/session); state-changing requests also send X-CSRF-Token",
          },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: "/docs" });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  segmentRoutes(app, service);
  leadRoutes(app, service);
  modelRoutes(app, service);
  adminRoutes(app, service);
  routingRoutes(app, service);
  templateRoutes(app, service);
  handoffRoutes(app, service);
  webhookRoutes(app, service);
  emailRoutes(app, service);
  sequenceRoutes(app, service);
  nurtureRoutes(app, service);
  analyticsRoutes(app, service);
  importRoutes(app, service);
  labRoutes(app, service);
  demoRoutes(app, service);
  audienceRoutes(app, service);
  personalizeRoutes(app, service);
  operationsRoutes(app, service);
  sessionRoutes(app, service);
  await serveDashboard(app);
  return app;
}
