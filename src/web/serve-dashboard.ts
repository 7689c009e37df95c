import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply } from "fastify";

/**
 * Serves the dashboard (the React app in `web/`, built into `web/dist` by `npm run build`) at `/`.
 * Its files are served as they are, hashed assets cached for a year; any other GET outside the API
 * answers `index.html`, so that the app's own routes (`/leads/…`) load on a refresh. Without a build,
 * `/` says how to make one.
 */
const DIST = fileURLToPath(
  // From dist/src/web when built; from src/web when run from the sources (tests).
  new URL(import.meta.url.endsWith(".ts") ? "../../web/dist/" : "../../../web/dist/", import.meta.url),
);
const API_PREFIXES = ["/api/", "/v1/", "/docs", "/openapi.json", "/metrics", "/healthz", "/readyz", "/e/"];

export async function serveDashboard(app: FastifyInstance, dist = DIST): Promise<void> {
  const index = `${dist}index.html`;
  if (!existsSync(index)) {
    app.get("/", { schema: { hide: true } }, async (_req, reply) =>
      reply
        .type("text/plain")
        .send("The dashboard is not built. Run `npm run build` (npm ci does it), then restart.\n"),
    );
    return;
  }
  const html = readFileSync(index, "utf8");
  await app.register(fastifyStatic, {
    root: dist,
    wildcard: false,
    index: false,
    setHeaders: (res, path) => {
      if (path.includes("/assets/")) res.setHeader("cache-control", "public, max-age=31536000, immutable");
    },
  });
  const page = async (_req: unknown, reply: FastifyReply) =>
    reply.type("text/html").header("cache-control", "no-cache").send(html);
  app.get("/", { schema: { hide: true } }, page);
  app.get("/*", { schema: { hide: true } }, async (req, reply) => {
    if (API_PREFIXES.some((p) => req.url.startsWith(p)))
      return reply.status(404).send({ error: "NOT_FOUND", message: `no route ${req.method} ${req.url}` });
    return page(req, reply);
  });
}
