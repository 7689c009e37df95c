import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createPostgresDatabase } from "../support/postgres-database.js";
import { freePort, type QualifyProcess, spawnQualify, waitForHttp } from "../support/qualify-process.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";

/**
 * `kill -9` of a real `qualify start` while webhook requests are in flight (the receiver holds them
 * unanswered) and more deliveries wait: after a restart on the same data, every notification
 * arrives; those in flight at the kill arrive again, with the same id and the same bytes.
 */

const WRITE_KEY = "wk_webhook_crash_write_key_1";
const ADMIN_TOKEN = "qlf_webhook_crash_admin_token_1";
const LEADS = 24;
const START_MS = 60_000;

describe.each(DATABASE_KINDS)("webhook deliveries across kill -9 on %s", (kind) => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });

  it("loses none of the deliveries in flight", { timeout: 180_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "qualify-webhook-crash-"));
    cleanup.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const env: Record<string, string> = {
      QUALIFY_DATA_DIR: dataDir,
      QUALIFY_WRITE_KEY: WRITE_KEY,
      QUALIFY_ADMIN_TOKEN: ADMIN_TOKEN,
      LOG_LEVEL: "warn",
      // A claim's lease is the timeout + 5 s: after it, a dead process's deliveries are sent again.
      QUALIFY_WEBHOOK_TIMEOUT_MS: "2000",
      QUALIFY_WEBHOOK_CONCURRENCY: "8",
      QUALIFY_WEBHOOK_POLL_MS: "200",
    };
    if (kind === "postgres") {
      const database = await createPostgresDatabase();
      cleanup.push(database.drop);
      env.DATABASE_URL = database.url;
    }
    const receiver = await WebhookReceiver.start();
    cleanup.push(() => receiver.close());
    // Held unanswered (longer than the timeout) until the kill; answered at once afterwards.
    let holding = true;
    receiver.behave = () => (holding ? { status: 200, delayMs: 60_000 } : { status: 200 });

    const start = async (): Promise<QualifyProcess> => {
      const port = await freePort();
      const p = spawnQualify({ ...env, PORT: String(port) });
      cleanup.push(() => p.kill9());
      await p.waitForOutput(/listening/, START_MS);
      await waitForHttp(`${p.url}/healthz`, 10_000);
      return p;
    };
    const call = async (p: QualifyProcess, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${p.url}${path}`, {
        method,
        headers: {
          authorization: path.startsWith("/v1/")
            ? `Basic ${Buffer.from(`${WRITE_KEY}:`).toString("base64")}`
            : `Bearer ${ADMIN_TOKEN}`,
          "content-type": "application/json",
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      // biome-ignore lint/suspicious/noExplicitAny: loosely read
      return { status: res.status, body: (await res.json()) as any };
    };

    const first = await start();
    const sub = await call(first, "POST", "/api/webhooks", {
      url: receiver.url("/crash"),
      events: ["lead.mql"],
    });
    expect(sub.status).toBe(201);
    const now = Date.now();
    const batch = Array.from({ length: LEADS }, (_, i) => [
      {
        type: "identify",
        userId: `crash-${i}`,
        traits: { email: `crash-${i}@bigco.example`, title: "VP Sales" },
        timestamp: new Date(now - 2000).toISOString(),
      },
      {
        type: "track",
        userId: `crash-${i}`,
        event: "Demo Requested",
        timestamp: new Date(now - 1000).toISOString(),
      },
    ]).flat();
    expect((await call(first, "POST", "/v1/batch", { batch })).status).toBe(200);
    // Requests in flight: as many as a subscription's slots; the rest wait their turn.
    await receiver.waitFor(() => receiver.inFlight >= 8, 30_000, "8 requests in flight");
    const inFlight = new Set(receiver.to("/crash").map((r) => String(r.headers["qualify-id"])));
    expect(inFlight.size).toBe(8);
    await first.kill9();
    holding = false;

    const second = await start();
    const idsOf = () => receiver.to("/crash").map((r) => String(r.headers["qualify-id"]));
    await receiver.waitFor(
      () => {
        const seen = idsOf();
        return (
          new Set(seen).size >= LEADS && [...inFlight].every((id) => seen.filter((x) => x === id).length >= 2)
        );
      },
      60_000,
      `all ${LEADS} MQLs delivered after the restart`,
    );
    // Every delivery is recorded as delivered once its answer comes back.
    let deliveries: { eventId: string; status: string; attempts: number }[] = [];
    for (let i = 0; i < 100; i++) {
      deliveries = (await call(second, "GET", `/api/webhooks/${sub.body.id}/deliveries?limit=500`)).body
        .deliveries;
      if (deliveries.length === LEADS && deliveries.every((d) => d.status === "delivered")) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(deliveries).toHaveLength(LEADS);
    for (const d of deliveries) expect(d.status).toBe("delivered");
    const ids = new Set(deliveries.map((d) => d.eventId));
    const got = receiver.to("/crash");
    expect(new Set(got.map((r) => String(r.headers["qualify-id"])))).toEqual(ids);
    // The ones in flight at the kill came again: same id, same bytes, a later attempt.
    for (const id of inFlight) {
      const copies = got.filter((r) => r.headers["qualify-id"] === id);
      expect(copies.length, id).toBeGreaterThanOrEqual(2);
      expect(new Set(copies.map((r) => r.body)).size).toBe(1);
      expect(copies.map((r) => r.headers["qualify-attempt"])).toContain("2");
    }
    // Attempts count claims: those in flight at the kill, and any claimed waiting for a slot, twice.
    for (const d of deliveries)
      if (inFlight.has(d.eventId)) expect(d.attempts).toBe(2);
      else expect([1, 2]).toContain(d.attempts);
    await second.stop();
  });
});
