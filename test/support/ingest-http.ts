import { request } from "node:http";
import { Readable } from "node:stream";
import { createGzip } from "node:zlib";

/** Raw HTTP for ingest tests: bodies exactly as given (already compressed or not), any headers. */

export const basicAuth = (writeKey: string) => `Basic ${Buffer.from(`${writeKey}:`).toString("base64")}`;

export interface RawAnswer {
  status: number;
  contentType: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read answers loosely
  body: any;
}

export async function postRaw(
  url: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : new Uint8Array(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: the test sees the text.
  }
  return { status: res.status, contentType: res.headers.get("content-type") ?? "", body: parsed };
}

export interface Answer {
  status: number;
  retryAfter: string | null;
  // biome-ignore lint/suspicious/noExplicitAny: tests read answers loosely
  body: any;
  /** How long the answer took. */
  ms: number;
}

/** A request to a Qualify server: with the write key for `/v1/*`, the API token otherwise. */
export async function callQualify(
  url: string,
  auth: { writeKey: string; token: string },
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer> {
  const started = Date.now();
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: path.startsWith("/v1/") ? basicAuth(auth.writeKey) : `Bearer ${auth.token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(120_000),
  });
  const text = await res.text();
  return {
    status: res.status,
    retryAfter: res.headers.get("retry-after"),
    body: text ? JSON.parse(text) : null,
    ms: Date.now() - started,
  };
}

/**
 * POSTs a stream of spaces that never ends (chunked, no Content-Length), gzip-compressed or not,
 * and resolves with the answer as soon as the server sends one. A server that buffered the body
 * before answering would never answer; `sentBytes` says how much went out before the answer.
 */
export function postEndless(
  url: string,
  headers: Record<string, string>,
  opts: { gzip: boolean; timeoutMs?: number },
): Promise<RawAnswer & { sentBytes: number }> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    // Spaces: whitespace a JSON parser would skip, so only the size limit can stop it.
    const chunk = Buffer.alloc(256 * 1024, " ");
    let stopped = false;
    const source = new Readable({
      read() {
        if (!stopped) this.push(chunk);
      },
    });
    const gzip = opts.gzip ? createGzip() : null;
    const body = gzip ? source.pipe(gzip) : source;
    let sentBytes = 0;
    body.on("data", (c: Buffer) => {
      sentBytes += c.length;
    });
    const req = request(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(gzip ? { "content-encoding": "gzip" } : {}),
        ...headers,
      },
    });
    const stop = () => {
      stopped = true;
      clearTimeout(timer);
      source.destroy();
      gzip?.destroy();
      req.destroy();
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no answer within ${timeoutMs} ms while the body kept coming`));
    }, timeoutMs);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        stop();
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers["content-type"] ?? ""),
          body: text ? JSON.parse(text) : null,
          sentBytes,
        });
      });
    });
    req.on("error", (e) => {
      if (!stopped) {
        stop();
        reject(e);
      }
    });
    body.pipe(req);
  });
}

/** The value of one Prometheus sample, 0 when absent. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? "").split(",").filter(Boolean);
    if (want.every((w) => have.includes(w)) && have.length === want.length) return Number(m[3]);
  }
  return 0;
}
