import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A real HTTP server that receives webhooks, for tests and the benchmark: it records every request
 * (headers, raw body, time) and answers as `behave` says: a status and body, after a delay, or by
 * resetting the connection.
 */

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read payloads loosely
  json: any;
  at: number;
}

export interface Answer {
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  delayMs?: number;
  /** Destroy the socket instead of answering (a connection reset). */
  reset?: boolean;
}

export class WebhookReceiver {
  /** Every request, in arrival order. */
  readonly received: Received[] = [];
  /** Requests answered 2xx. */
  readonly accepted: Received[] = [];
  /** How to answer; `n` counts the requests to the same path so far (1 for the first). */
  behave: (r: Received, n: number) => Answer = () => ({ status: 200 });
  /** Requests whose answer is still being delayed. */
  inFlight = 0;
  private readonly perPath = new Map<string, number>();
  private readonly listeners = new Set<() => void>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: Server,
    readonly base: string,
  ) {}

  static async start(): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver | null = null;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => (receiver as WebhookReceiver).handle(req.url ?? "/", req.headers, chunks, res));
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    receiver = new WebhookReceiver(server, `http://127.0.0.1:${port}`);
    return receiver;
  }

  url(path = "/hook"): string {
    return `${this.base}${path}`;
  }

  private handle(
    path: string,
    headers: IncomingHttpHeaders,
    chunks: Buffer[],
    res: import("node:http").ServerResponse,
  ): void {
    const body = Buffer.concat(chunks).toString("utf8");
    let json: unknown = null;
    try {
      json = JSON.parse(body);
    } catch {
      // not JSON
    }
    const r: Received = { path, headers, body, json, at: Date.now() };
    this.received.push(r);
    const n = (this.perPath.get(path) ?? 0) + 1;
    this.perPath.set(path, n);
    const a = this.behave(r, n);
    const answer = () => {
      this.inFlight--;
      if (a.reset) {
        res.socket?.destroy();
      } else {
        const status = a.status ?? 200;
        if (status >= 200 && status < 300) this.accepted.push(r);
        res.writeHead(status, { "content-type": "text/plain", ...a.headers });
        res.end(a.body ?? "ok");
      }
      for (const l of this.listeners) l();
    };
    this.inFlight++;
    for (const l of this.listeners) l();
    if (a.delayMs) {
      const t = setTimeout(() => {
        this.timers.delete(t);
        answer();
      }, a.delayMs);
      this.timers.add(t);
    } else answer();
  }

  /** The requests to one path. */
  to(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  /** Distinct payload ids accepted (2xx) on a path. */
  acceptedIds(path: string): Set<string> {
    return new Set(this.accepted.filter((r) => r.path === path).map((r) => String(r.headers["qualify-id"])));
  }

  /** Resolves once `check` holds (checked after every request and answer); fails after `timeoutMs`. */
  waitFor(check: () => boolean, timeoutMs: number, what = "the receiver's condition"): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (e: Error | null) => {
        clearTimeout(timer);
        clearInterval(poll);
        this.listeners.delete(test);
        if (e) reject(e);
        else resolve();
      };
      const test = () => {
        if (check()) done(null);
      };
      const timer = setTimeout(
        () => done(new Error(`${what} did not hold within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const poll = setInterval(test, 50);
      this.listeners.add(test);
      test();
    });
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
