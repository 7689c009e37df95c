import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import * as z from "zod";
import { DEFAULT_DEMO, loadDemo } from "../../analytics/load-demo.js";
import { ADMIN, requireRole, workspaceOf } from "../authenticate.js";
import type { Service } from "../service.js";

/** Demo data (`qualify demo`): a generated history in an empty workspace. */
export function demoRoutes(app: FastifyInstance, service: Service): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    "/api/demo",
    {
      preHandler: requireRole(service, ADMIN),
      schema: {
        tags: ["demo"],
        security: [{ bearer: [] }],
        summary:
          "Fill an empty workspace with a generated history ending now: visits, downloads, webinars, email, handoffs to four sales reps, and outcomes, over several channels and campaigns",
        body: z
          .object({
            profiles: z.number().int().min(1).max(200_000).default(DEFAULT_DEMO.profiles),
            days: z.number().int().min(7).max(730).default(DEFAULT_DEMO.days),
            seed: z.number().int().default(DEFAULT_DEMO.seed),
          })
          .default(DEFAULT_DEMO),
      },
    },
    async (req) => loadDemo(service.db, workspaceOf(req), req.body, service.clock()),
  );
}
