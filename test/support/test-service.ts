import { type RunningService, startService } from "../../src/api/start-service.js";
import { loadConfig } from "../../src/config/load-config.js";
import { openTestDatabase } from "./test-database.js";

export const TEST_WRITE_KEY = "wk_test_write_key_0001";
export const TEST_ADMIN_TOKEN = "qlf_test_admin_token_0001";
export const TEST_ADMIN_PASSWORD = "test-admin-password";

export interface TestService extends RunningService {
  url: string;
  writeKey: string;
  adminToken: string;
  /** GET/POST… on the API with the admin token; returns status and parsed JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: tests read answers loosely
  api<T = any>(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; body: T }>;
  /** Resolves once every stored event has been processed. */
  drain(): Promise<void>;
}

/**
 * The real service on a fresh database of its own (a clone of the run's template), listening on a
 * free port, with known credentials and the default model.
 */
export async function startTestService(
  kind: "pglite" | "postgres",
  opts: { clock?: () => number; env?: Record<string, string>; processing?: boolean } = {},
): Promise<TestService> {
  const db = await openTestDatabase(kind);
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "silent",
    QUALIFY_WRITE_KEY: TEST_WRITE_KEY,
    QUALIFY_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    QUALIFY_ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
    ...opts.env,
  });
  const running = await startService(config, {
    db,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.processing === false ? { processing: false } : {}),
  });
  const url = running.url as string;
  return {
    ...running,
    url,
    writeKey: TEST_WRITE_KEY,
    adminToken: TEST_ADMIN_TOKEN,
    async api(method, path, body, token = TEST_ADMIN_TOKEN) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    async drain() {
      await running.service.pipeline.drain();
    },
  };
}
