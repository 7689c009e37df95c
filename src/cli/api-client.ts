import type { RunningService } from "../api/start-service.js";
import type { Config } from "../config/load-config.js";
import { lockHolder } from "../db/data-dir-lock.js";
import { type ErrorCode, QualifyError } from "../errors.js";

/**
 * The CLI's live-data commands speak to the API. Where it is: QUALIFY_URL (with QUALIFY_TOKEN); else
 * the server that holds the PGlite data directory, found through its lock file; else the CLI runs
 * the service in-process on the database itself (nothing listens) and calls the same routes.
 */
export interface ApiClient {
  /** A JSON request; an error answer throws its QualifyError. */
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** A request whose answer is NDJSON lines (progress, then the result). */
  stream(
    method: string,
    path: string,
    body: unknown,
    onLine: (line: Record<string, unknown>) => void,
  ): Promise<void>;
  /** Where it talks: a URL, or "in-process". */
  readonly where: string;
  close(): Promise<void>;
  /** In-process only: credentials made at first start, to be shown once. */
  readonly firstStart?: RunningService["bootstrap"];
}

function raise(status: number, body: unknown): never {
  const b = (body ?? {}) as {
    error?: string;
    message?: string;
    details?: { path: string; message: string }[];
  };
  const code = (b.error && b.error !== "INTERNAL" ? b.error : "NOT_READY") as ErrorCode;
  throw new QualifyError(code, b.message ?? `HTTP ${status}`, b.details ?? []);
}

function overHttp(url: string, token: string): ApiClient {
  const base = url.replace(/\/$/, "");
  const request = (method: string, path: string, body: unknown, accept = "application/json") =>
    fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        accept,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }).catch((e: Error) => {
      throw new QualifyError("NOT_READY", `cannot reach ${base}: ${e.message}`);
    });
  return {
    where: base,
    async call<T>(method: string, path: string, body?: unknown) {
      const res = await request(method, path, body);
      const json = (await res.json().catch(() => null)) as unknown;
      if (!res.ok) raise(res.status, json);
      return json as T;
    },
    async stream(method, path, body, onLine) {
      const res = await request(method, path, body, "application/x-ndjson");
      if (!res.ok) raise(res.status, await res.json().catch(() => null));
      const decoder = new TextDecoder();
      let buffered = "";
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line.trim()) onLine(JSON.parse(line) as Record<string, unknown>);
        }
      }
    },
    close: async () => undefined,
  };
}

async function inProcess(config: Config): Promise<ApiClient> {
  const { startService } = await import("../api/start-service.js");
  const running = await startService({ ...config, logLevel: "warn" }, { listen: false });
  const token = running.service.localToken as string;
  const inject = (method: string, path: string, body: unknown, accept = "application/json") =>
    running.app.inject({
      method: method as "GET",
      url: path,
      headers: { authorization: `Bearer ${token}`, accept },
      ...(body === undefined ? {} : { payload: body as object }),
    });
  return {
    where: "in-process",
    firstStart: running.bootstrap,
    async call<T>(method: string, path: string, body?: unknown) {
      const res = await inject(method, path, body);
      const json = res.body ? (JSON.parse(res.body) as unknown) : null;
      if (res.statusCode >= 400) raise(res.statusCode, json);
      return json as T;
    },
    async stream(method, path, body, onLine) {
      const res = await inject(method, path, body, "application/x-ndjson");
      if (res.statusCode >= 400) raise(res.statusCode, JSON.parse(res.body));
      for (const line of res.body.split("\n"))
        if (line.trim()) onLine(JSON.parse(line) as Record<string, unknown>);
    },
    close: () => running.close(),
  };
}

export async function connect(config: Config): Promise<ApiClient> {
  if (config.serverUrl) {
    if (!config.token)
      throw new QualifyError("CONFIG_INVALID", "QUALIFY_URL is set: set QUALIFY_TOKEN to an API token too", [
        { path: "QUALIFY_TOKEN", message: "required with QUALIFY_URL" },
      ]);
    return overHttp(config.serverUrl, config.token);
  }
  if (!config.databaseUrl) {
    const holder = lockHolder(config.dataDir);
    if (holder?.url && holder.token) return overHttp(holder.url, holder.token);
    if (holder)
      throw new QualifyError(
        "DATABASE_LOCKED",
        `${config.dataDir} is in use by process ${holder.pid}, which serves no API yet; try again, or set QUALIFY_URL`,
      );
  }
  return inProcess(config);
}
