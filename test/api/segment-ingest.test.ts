import { randomUUID } from "node:crypto";
import { deflateSync, gzipSync } from "node:zlib";
import RudderAnalytics from "@rudderstack/rudder-sdk-node";
import { Analytics as SegmentAnalytics } from "@segment/analytics-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BATCH_EVENTS, BATCH_LIMIT, EVENT_LIMIT } from "../../src/ingest/segment-routes.js";
import { basicAuth, metricValue, postEndless, postRaw } from "../support/ingest-http.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from "../support/test-service.js";

/**
 * Segment-compatible ingest over real HTTP, on the real service: the Segment and RudderStack SDKs,
 * write-key auth, compressed and oversized bodies, partial acceptance, duplicates and clock skew.
 */

const id = (prefix: string) => `${prefix}-${randomUUID()}`;
const HOUR = 3_600_000;

interface StoredEvent {
  message_id: string;
  type: string | null;
  user_id: string | null;
  at: number;
  received_at: number;
  // biome-ignore lint/suspicious/noExplicitAny: the stored engine input, read loosely
  input: any;
}

/** The axios instance the RudderStack SDK posts with (not in its typings). */
interface RudderInternals {
  axiosInstance: {
    interceptors: {
      response: {
        use(f: <R extends { status: number; config: { headers: Record<string, unknown> } }>(r: R) => R): void;
      };
    };
  };
}

describe.each(DATABASE_KINDS)("Segment ingest over HTTP on %s", (kind) => {
  let service: TestService;
  let auth: Record<string, string>;

  beforeAll(async () => {
    service = await startTestService(kind);
    auth = { authorization: basicAuth(service.writeKey) };
  });
  afterAll(async () => {
    await service?.close();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = auth) =>
    postRaw(`${service.url}${path}`, typeof body === "string" ? body : JSON.stringify(body), headers);

  const countEvents = async (messageIds: string[]) =>
    (
      await service.service.db.query<{ n: number }>(
        "select count(*)::int as n from events where message_id = any($1)",
        [messageIds],
      )
    )[0]?.n;

  const storedEvent = async (messageId: string) => {
    const rows = await service.service.db.query<StoredEvent>(
      "select message_id, type, user_id, at, received_at, input from events where message_id = $1",
      [messageId],
    );
    expect(rows).toHaveLength(1);
    return rows[0] as StoredEvent;
  };

  const leadOf = async (userId: string) => {
    const res = await service.api("GET", `/api/leads?userId=${encodeURIComponent(userId)}`);
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(1);
    return res.body.items[0];
  };

  describe("real SDKs drive a lead to MQL", () => {
    it("@segment/analytics-node: identify, an asset download and a demo request", async () => {
      const userId = id("seg-user");
      // One batch, sent by closeAndFlush: with several batches in flight at once the SDK may deliver
      // the demo request before the identify, and a hand-raise made before the lead was a lead waits
      // for the lead's next input (docs/scoring-model.md, "Transitions and late events").
      const analytics = new SegmentAnalytics({
        writeKey: service.writeKey,
        host: service.url,
        flushAt: 10,
        flushInterval: 10_000,
        maxRetries: 0,
      });
      const errors: unknown[] = [];
      const statuses: number[] = [];
      analytics.on("error", (e) => errors.push(e));
      analytics.on("http_response", (r) => statuses.push(r.status));

      const now = Date.now();
      analytics.identify({
        userId,
        traits: { email: "dana.segment@northwind.example", title: "VP Marketing", name: "Dana Segment" },
        timestamp: new Date(now - 3000),
      });
      analytics.track({
        userId,
        event: "Asset Downloaded",
        properties: { type: "ebook", title: "The MQL Handbook" },
        timestamp: new Date(now - 2000),
      });
      analytics.track({ userId, event: "Demo Requested", timestamp: new Date(now - 1000) });
      await analytics.closeAndFlush({ timeout: 10_000 });

      expect(errors).toEqual([]);
      expect(statuses).toEqual([200]);
      const stored = await service.service.db.query<{ type: string; event: string | null }>(
        "select type, input->>'event' as event from events where user_id = $1 order by at",
        [userId],
      );
      expect(stored).toEqual([
        { type: "identify", event: null },
        { type: "track", event: "Asset Downloaded" },
        { type: "track", event: "Demo Requested" },
      ]);

      await service.drain();
      const lead = await leadOf(userId);
      expect(lead.stage).toBe("mql");
      expect(lead.email).toBe("dana.segment@northwind.example");
      expect(lead.mqlAt).not.toBeNull();
    });

    it("@rudderstack/rudder-sdk-node: gzip form-encoded batches reach MQL too", async () => {
      const userId = id("rudder-user");
      const errors: unknown[] = [];
      const client = new RudderAnalytics(service.writeKey, {
        dataPlaneUrl: service.url,
        flushAt: 20,
        flushInterval: 60_000,
        retryCount: 0,
        logLevel: "error",
        errorHandler: (e) => errors.push(e),
      });
      // What went over the wire, as axios (inside the SDK) sent it.
      const sent: { status: number; type: unknown; encoding: unknown }[] = [];
      (client as unknown as RudderInternals).axiosInstance.interceptors.response.use((r) => {
        sent.push({
          status: r.status,
          type: r.config.headers["Content-Type"],
          encoding: r.config.headers["Content-Encoding"],
        });
        return r;
      });
      const now = Date.now();
      // The first call is sent at once on its own; the rest wait for flush().
      client.identify({
        userId,
        traits: { email: "riley.rudder@northwind.example", title: "Director of Growth" },
        timestamp: new Date(now - 3000),
      });
      client.track({
        userId,
        event: "Webinar Registered",
        properties: { webinar: "Scoring 101" },
        timestamp: new Date(now - 2000),
      });
      client.track({ userId, event: "Contact Sales Requested", timestamp: new Date(now - 1000) });
      await client.flush();
      await client.flush();

      expect(errors).toEqual([]);
      const wire = { status: 200, type: "application/x-www-form-urlencoded", encoding: "gzip" };
      expect(sent).toEqual([wire, wire]);
      expect(
        await service.service.db.query("select type from events where user_id = $1", [userId]),
      ).toHaveLength(3);
      await service.drain();
      const lead = await leadOf(userId);
      expect(lead.stage).toBe("mql");
      expect(lead.email).toBe("riley.rudder@northwind.example");
    });
  });

  it("@rudderstack/rudder-sdk-node: a call queued in the SDK keeps the time it was made", async () => {
    // The RudderStack SDK sends the call's time as `originalTimestamp` (not `timestamp`) and its own
    // `sentAt` on each message; a call that waited in the queue happened before it was received.
    const userId = id("rudder-queued");
    const client = new RudderAnalytics(service.writeKey, {
      dataPlaneUrl: service.url,
      flushAt: 20,
      flushInterval: 60_000,
      retryCount: 0,
      logLevel: "error",
    });
    client.track({ userId, event: "Email Opened" }); // the first call goes at once
    await client.flush();
    const madeAt = Date.now();
    client.track({ userId, event: "Email Clicked" });
    await new Promise((r) => setTimeout(r, 1500));
    await client.flush();
    const rows = await service.service.db.query<{ event: string; at: number; received_at: number }>(
      "select input->>'event' as event, at, received_at from events where user_id = $1 order by seq",
      [userId],
    );
    expect(rows.map((r) => r.event)).toEqual(["Email Opened", "Email Clicked"]);
    const queued = rows[1] as { at: number; received_at: number };
    expect(queued.received_at - madeAt).toBeGreaterThanOrEqual(1400);
    expect(Math.abs(queued.at - madeAt)).toBeLessThan(500);
  });

  describe("write keys", () => {
    const track = (messageId: string) => ({
      messageId,
      userId: id("auth-user"),
      event: "Newsletter Subscribed",
    });

    it("answers 401 JSON without a write key or with a wrong one, and stores nothing", async () => {
      const a = id("auth-none");
      const none = await post("/v1/track", track(a), {});
      expect(none.status).toBe(401);
      expect(none.contentType).toMatch(/^application\/json/);
      expect(none.body).toMatchObject({ error: "UNAUTHORIZED", field: "Authorization" });

      const b = id("auth-wrong");
      const wrong = await post("/v1/track", track(b), { authorization: basicAuth("wk_not_a_key") });
      expect(wrong.status).toBe(401);
      expect(wrong.contentType).toMatch(/^application\/json/);
      expect(wrong.body).toMatchObject({ error: "UNAUTHORIZED" });

      const c = id("auth-wrong-body");
      const wrongInBody = await post(
        "/v1/batch",
        { writeKey: "wk_nope", batch: [{ type: "track", ...track(c) }] },
        {},
      );
      expect(wrongInBody.status).toBe(401);

      // An API token is not a write key.
      const d = id("auth-admin");
      const admin = await post("/v1/track", track(d), { authorization: basicAuth(TEST_ADMIN_TOKEN) });
      expect(admin.status).toBe(401);

      expect(await countEvents([a, b, c, d])).toBe(0);
    });

    it("accepts the write key in the body, and does not store it", async () => {
      const a = id("auth-body-single");
      const single = await post("/v1/track", { writeKey: service.writeKey, ...track(a) }, {});
      expect(single).toMatchObject({ status: 200, body: { success: true } });

      const b = id("auth-body-batch");
      const batch = await post(
        "/v1/batch",
        { writeKey: service.writeKey, batch: [{ type: "track", ...track(b) }] },
        {},
      );
      expect(batch).toMatchObject({ status: 200, body: { success: true, accepted: 1, rejected: [] } });

      expect(await countEvents([a, b])).toBe(2);
      for (const m of [a, b]) {
        const row = await storedEvent(m);
        expect(JSON.stringify(row.input)).not.toContain(service.writeKey);
      }
    });

    it("a write key reads nothing: as a Bearer token on /api/leads it gets 401", async () => {
      const res = await service.api("GET", "/api/leads", undefined, service.writeKey);
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ error: "UNAUTHORIZED" });

      const basic = await fetch(`${service.url}/api/leads`, { headers: auth });
      expect(basic.status).toBe(401);
      expect(await basic.json()).toMatchObject({ error: "UNAUTHORIZED" });
    });
  });

  describe("bodies", () => {
    it("reads gzip and deflate JSON, whatever the content type says", async () => {
      const a = id("gzip-json");
      const gz = await postRaw(
        `${service.url}/v1/batch`,
        gzipSync(
          JSON.stringify({
            batch: [{ type: "track", messageId: a, userId: "u-gz", event: "Form Submitted" }],
          }),
        ),
        // As the RudderStack SDK sends it.
        { ...auth, "content-type": "application/x-www-form-urlencoded", "content-encoding": "gzip" },
      );
      expect(gz).toMatchObject({ status: 200, body: { success: true, accepted: 1 } });

      const b = id("deflate-json");
      const df = await postRaw(
        `${service.url}/v1/track`,
        deflateSync(JSON.stringify({ messageId: b, userId: "u-df", event: "Form Submitted" })),
        { ...auth, "content-encoding": "deflate" },
      );
      expect(df).toMatchObject({ status: 200, body: { success: true } });
      expect(await countEvents([a, b])).toBe(2);
    });

    it("answers 400 to truncated gzip and stores nothing", async () => {
      const a = id("truncated");
      const whole = gzipSync(
        JSON.stringify({
          batch: [{ type: "track", messageId: a, userId: "u-trunc", event: "Form Submitted" }],
        }),
      );
      const res = await postRaw(`${service.url}/v1/batch`, whole.subarray(0, Math.floor(whole.length / 2)), {
        ...auth,
        "content-encoding": "gzip",
      });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: "BODY_UNPARSEABLE", field: "(body)" });

      const garbage = await postRaw(`${service.url}/v1/track`, Buffer.from("definitely not gzip"), {
        ...auth,
        "content-encoding": "gzip",
      });
      expect(garbage.status).toBe(400);
      expect(await countEvents([a])).toBe(0);
    });

    it("answers 413 to a gzip bomb quickly, inflating no more than the limit", async () => {
      const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024), { level: 9 });
      expect(bomb.length).toBeLessThan(BATCH_LIMIT);
      const started = Date.now();
      const res = await postRaw(`${service.url}/v1/batch`, bomb, { ...auth, "content-encoding": "gzip" });
      expect(res.status).toBe(413);
      expect(res.body).toMatchObject({ error: "PAYLOAD_TOO_LARGE", field: "(body)" });
      expect(Date.now() - started).toBeLessThan(3000);
    });

    it("answers 413 to a body that never ends, gzip or plain, while it is still being sent", async () => {
      const zipped = await postEndless(`${service.url}/v1/batch`, auth, { gzip: true });
      expect(zipped.status).toBe(413);
      expect(zipped.body).toMatchObject({ error: "PAYLOAD_TOO_LARGE" });
      // The server stopped reading long before the client would have: a few MB of gzip at most.
      expect(zipped.sentBytes).toBeLessThan(16 * 1024 * 1024);

      // Chunked, without a Content-Length to refuse it by.
      const plain = await postEndless(`${service.url}/v1/track`, auth, { gzip: false });
      expect(plain.status).toBe(413);
      expect(plain.body).toMatchObject({ error: "PAYLOAD_TOO_LARGE" });
    });

    it("answers 413 to a single event over 32 KB, plain or compressed", async () => {
      const a = id("big-single");
      const big = {
        messageId: a,
        userId: "u-big",
        event: "Form Submitted",
        properties: { blob: "x".repeat(EVENT_LIMIT) },
      };
      const plain = await post("/v1/track", big);
      expect(plain.status).toBe(413);
      expect(plain.body).toMatchObject({ error: "PAYLOAD_TOO_LARGE" });

      const zipped = await postRaw(`${service.url}/v1/track`, gzipSync(JSON.stringify(big)), {
        ...auth,
        "content-encoding": "gzip",
      });
      expect(zipped.status).toBe(413);
      expect(zipped.body).toMatchObject({ error: "PAYLOAD_TOO_LARGE" });
      expect(await countEvents([a])).toBe(0);
    });

    it("answers 413 to a batch over 2,500 events or over 500 KB, and stores none of it", async () => {
      const prefix = id("too-many");
      const events = Array.from({ length: BATCH_EVENTS + 1 }, (_, i) => ({
        type: "track",
        messageId: `${prefix}-${i}`,
        userId: "u-many",
        event: "Email Opened",
      }));
      const many = await post("/v1/batch", { batch: events });
      expect(many.status).toBe(413);
      expect(many.body).toMatchObject({ error: "PAYLOAD_TOO_LARGE", field: "batch" });
      expect(await countEvents(events.map((e) => e.messageId))).toBe(0);

      // Exactly the limit is fine.
      const ok = await post("/v1/batch", { batch: events.slice(0, BATCH_EVENTS) });
      expect(ok).toMatchObject({ status: 200, body: { accepted: BATCH_EVENTS, rejected: [] } });

      const b = id("too-big");
      const huge = await post("/v1/batch", {
        batch: [
          {
            type: "track",
            messageId: b,
            userId: "u-huge",
            event: "X",
            properties: { s: "y".repeat(BATCH_LIMIT) },
          },
        ],
      });
      expect(huge.status).toBe(413);
      expect(await countEvents([b])).toBe(0);
    });

    it("answers 400 to a body that is not JSON, or not an object", async () => {
      const text = await post("/v1/track", "this is not json", { ...auth, "content-type": "text/plain" });
      expect(text.status).toBe(400);
      expect(text.body).toMatchObject({ error: "BODY_UNPARSEABLE", field: "(body)" });

      const cut = await post("/v1/batch", '{"batch": [{"type": "track"', auth);
      expect(cut.status).toBe(400);
      expect(cut.body).toMatchObject({ error: "BODY_UNPARSEABLE" });

      const array = await post("/v1/track", [1, 2, 3]);
      expect(array.status).toBe(400);
      expect(array.body).toMatchObject({ error: "INPUT_INVALID", field: expect.any(String) });

      const noBatch = await post("/v1/batch", { events: [] });
      expect(noBatch.status).toBe(400);
      expect(noBatch.body).toMatchObject({ error: "INPUT_INVALID", field: "batch" });
    });

    it("answers 415 to an encoding it cannot read", async () => {
      const res = await postRaw(`${service.url}/v1/track`, Buffer.from("{}"), {
        ...auth,
        "content-encoding": "br",
      });
      expect(res.status).toBe(415);
      expect(res.body).toMatchObject({ error: "UNSUPPORTED_MEDIA_TYPE", field: "Content-Encoding" });
    });
  });

  describe("partial acceptance", () => {
    it("stores a batch's valid events and lists the invalid ones, with 200", async () => {
      const ids = Array.from({ length: 8 }, (_, i) => id(`partial-${i}`));
      const res = await post("/v1/batch", {
        batch: [
          { type: "track", messageId: ids[0], userId: "u-partial", event: "Form Submitted" },
          { type: "track", messageId: ids[1], userId: "u-partial" },
          { type: "track", messageId: ids[2], event: "Form Submitted" },
          "not an event",
          {
            type: "identify",
            messageId: ids[4],
            userId: "u-partial",
            traits: { email: "p@northwind.example" },
          },
          { type: "track", messageId: ids[5], userId: "u-partial", event: "X", timestamp: "yesterday" },
          { type: "launch", messageId: ids[6], userId: "u-partial" },
          {
            type: "track",
            messageId: ids[7],
            userId: "u-partial",
            event: "X",
            properties: { s: "z".repeat(EVENT_LIMIT) },
          },
        ],
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ success: true, accepted: 2, duplicates: 0 });
      expect(res.body.rejected).toEqual([
        { index: 1, field: "event", reason: expect.any(String) },
        { index: 2, field: "userId", reason: expect.any(String) },
        { index: 3, field: "(event)", reason: "expected a JSON object" },
        { index: 5, field: "timestamp", reason: expect.stringContaining("ISO-8601") },
        { index: 6, field: "type", reason: expect.any(String) },
        { index: 7, field: "(event)", reason: expect.stringContaining("32 KB") },
      ]);
      const stored = await service.service.db.query<{ message_id: string }>(
        "select message_id from events where message_id = any($1) order by message_id",
        [ids],
      );
      expect(stored.map((r) => r.message_id).sort()).toEqual([ids[0], ids[4]].sort());
    });

    it("answers 400 with field and reason to a bad single event", async () => {
      const a = id("bad-single");
      const noName = await post("/v1/track", { messageId: a, userId: "u-bad" });
      expect(noName.status).toBe(400);
      expect(noName.body).toMatchObject({
        error: "INPUT_INVALID",
        field: "event",
        reason: "a track call needs an event name",
      });

      const noIds = await post("/v1/identify", { traits: { email: "x@northwind.example" } });
      expect(noIds.status).toBe(400);
      expect(noIds.body).toMatchObject({ field: "userId", reason: expect.any(String) });

      const badTraits = await post("/v1/group", { userId: "u-bad", groupId: "g1", traits: "big" });
      expect(badTraits.status).toBe(400);
      expect(badTraits.body).toMatchObject({ field: "traits", reason: "expected an object" });

      const badSentAt = await post("/v1/page", { userId: "u-bad", sentAt: 12 });
      expect(badSentAt.status).toBe(400);
      expect(badSentAt.body).toMatchObject({ field: "sentAt" });
      expect(await countEvents([a])).toBe(0);
    });
  });

  describe("duplicates", () => {
    it("stores a messageId sent twice once, and answers both 200", async () => {
      const a = id("dup-seq");
      const first = await post("/v1/track", { messageId: a, userId: "u-dup", event: "Form Submitted" });
      // A copy with other content: the first copy is the one kept.
      const second = await post("/v1/track", { messageId: a, userId: "u-dup", event: "Something Else" });
      expect(first).toMatchObject({ status: 200, body: { success: true } });
      expect(second).toMatchObject({ status: 200, body: { success: true } });
      expect(await countEvents([a])).toBe(1);
      expect((await storedEvent(a)).input.event).toBe("Form Submitted");

      const again = await post("/v1/batch", {
        batch: [{ type: "track", messageId: a, userId: "u-dup", event: "Form Submitted" }],
      });
      expect(again).toMatchObject({ status: 200, body: { accepted: 0, duplicates: 1, rejected: [] } });

      const b = id("dup-in-batch");
      const twice = { type: "track", messageId: b, userId: "u-dup", event: "Form Submitted" };
      const inOne = await post("/v1/batch", { batch: [twice, twice] });
      expect(inOne).toMatchObject({ status: 200, body: { accepted: 1, duplicates: 1 } });
      expect(await countEvents([a, b])).toBe(2);
    });

    it("stores a messageId sent in two concurrent requests once", async () => {
      const a = id("dup-concurrent-batch");
      const event = { type: "track", messageId: a, userId: "u-conc", event: "Form Submitted" };
      const answers = await Promise.all([
        post("/v1/batch", { batch: [event] }),
        post("/v1/batch", { batch: [event] }),
      ]);
      expect(answers.map((r) => r.status)).toEqual([200, 200]);
      expect(answers.reduce((n, r) => n + r.body.accepted, 0)).toBe(1);
      expect(answers.reduce((n, r) => n + r.body.duplicates, 0)).toBe(1);
      expect(await countEvents([a])).toBe(1);

      const b = id("dup-concurrent-single");
      const single = { messageId: b, userId: "u-conc", event: "Form Submitted" };
      const many = await Promise.all(Array.from({ length: 8 }, () => post("/v1/track", single)));
      expect(many.map((r) => r.status)).toEqual(Array(8).fill(200));
      expect(await countEvents([b])).toBe(1);
    });
  });

  describe("event time", () => {
    it("corrects a timestamp from a clock an hour fast by sentAt", async () => {
      const a = id("skew");
      const fast = Date.now() + HOUR;
      const before = Date.now();
      const res = await post("/v1/track", {
        messageId: a,
        userId: "u-skew",
        event: "Form Submitted",
        timestamp: new Date(fast).toISOString(),
        sentAt: new Date(fast + 2000).toISOString(),
      });
      const after = Date.now();
      expect(res.status).toBe(200);
      const row = await storedEvent(a);
      expect(row.input.at).toBe(row.at);
      expect(row.at).toBe(row.received_at - 2000);
      expect(row.at).toBeGreaterThanOrEqual(before - 2000);
      expect(row.at).toBeLessThanOrEqual(after - 2000);
    });

    it("keeps a timestamp without sentAt as sent, and uses the receive time without timestamp", async () => {
      const a = id("no-sent-at");
      const b = id("no-timestamp");
      const past = Date.parse("2026-01-15T10:00:00.000Z");
      const before = Date.now();
      await post("/v1/track", {
        messageId: a,
        userId: "u-t",
        event: "X",
        timestamp: new Date(past).toISOString(),
      });
      await post("/v1/track", { messageId: b, userId: "u-t", event: "X" });
      const after = Date.now();
      expect((await storedEvent(a)).input.at).toBe(past);
      const rowB = await storedEvent(b);
      expect(rowB.input.at).toBe(rowB.received_at);
      expect(rowB.at).toBeGreaterThanOrEqual(before);
      expect(rowB.at).toBeLessThanOrEqual(after);
    });

    it("uses originalTimestamp when there is no timestamp, as RudderStack sends it", async () => {
      const [a, b, c] = [id("original-ts"), id("original-and-ts"), id("original-bad")];
      const fast = Date.now() + HOUR;
      const before = Date.now();
      const res = await post("/v1/batch", {
        batch: [
          {
            type: "track",
            messageId: a,
            userId: "u-orig",
            event: "X",
            originalTimestamp: new Date(fast).toISOString(),
            sentAt: new Date(fast + 3000).toISOString(),
          },
          {
            type: "track",
            messageId: b,
            userId: "u-orig",
            event: "X",
            timestamp: new Date(fast).toISOString(),
            originalTimestamp: new Date(fast - 60_000).toISOString(),
            sentAt: new Date(fast + 1000).toISOString(),
          },
          { type: "track", messageId: c, userId: "u-orig", event: "X", originalTimestamp: "soon" },
        ],
      });
      const after = Date.now();
      expect(res).toMatchObject({ status: 200, body: { accepted: 2 } });
      expect(res.body.rejected).toEqual([
        { index: 2, field: "originalTimestamp", reason: expect.any(String) },
      ]);
      const rowA = await storedEvent(a);
      expect(rowA.at).toBe(rowA.received_at - 3000);
      expect(rowA.at).toBeGreaterThanOrEqual(before - 3000);
      expect(rowA.at).toBeLessThanOrEqual(after - 3000);
      // `timestamp` wins when both are there.
      const rowB = await storedEvent(b);
      expect(rowB.at).toBe(rowB.received_at - 1000);
    });

    it("applies a batch's sentAt and context to each event that has none of its own", async () => {
      const [a, b, c] = [id("batch-shared-a"), id("batch-shared-b"), id("batch-shared-c")];
      const fast = Date.now() + HOUR;
      const shared = {
        library: { name: "analytics-test", version: "1.0.0" },
        campaign: { source: "newsletter", medium: "email" },
        page: { path: "/shared" },
      };
      const before = Date.now();
      const res = await post("/v1/batch", {
        sentAt: new Date(fast).toISOString(),
        context: shared,
        batch: [
          {
            type: "track",
            messageId: a,
            userId: "u-shared",
            event: "X",
            timestamp: new Date(fast - 5000).toISOString(),
          },
          {
            type: "track",
            messageId: b,
            userId: "u-shared",
            event: "X",
            timestamp: new Date(fast - 10_000).toISOString(),
            context: { ip: "203.0.113.7", page: { path: "/own" } },
          },
          {
            type: "track",
            messageId: c,
            userId: "u-shared",
            event: "X",
            timestamp: new Date(fast - 5000).toISOString(),
            sentAt: new Date(fast - 4000).toISOString(),
          },
        ],
      });
      const after = Date.now();
      expect(res).toMatchObject({ status: 200, body: { accepted: 3, rejected: [] } });

      const rowA = await storedEvent(a);
      expect(rowA.at).toBe(rowA.received_at - 5000);
      expect(rowA.at).toBeGreaterThanOrEqual(before - 5000);
      expect(rowA.at).toBeLessThanOrEqual(after - 5000);
      expect(rowA.input.context).toEqual(shared);

      const rowB = await storedEvent(b);
      expect(rowB.at).toBe(rowB.received_at - 10_000);
      expect(rowB.input.context).toEqual({ ...shared, ip: "203.0.113.7", page: { path: "/own" } });

      const rowC = await storedEvent(c);
      expect(rowC.at).toBe(rowC.received_at - 1000);
      expect(rowC.input.context).toEqual(shared);
    });
  });

  it("/metrics counts rejections by reason", async () => {
    const read = async () => {
      const res = await fetch(`${service.url}/metrics`);
      expect(res.status).toBe(200);
      return res.text();
    };
    const start = await read();
    const eventBefore = metricValue(start, "qualify_ingest_rejections_total", { reason: "event" });
    const tooManyBefore = metricValue(start, "qualify_ingest_rejections_total", {
      reason: "batch-too-many-events",
    });
    const duplicatesBefore = metricValue(start, "qualify_ingest_duplicates_total");
    const storedBefore = metricValue(start, "qualify_ingest_events_total", { endpoint: "batch" });

    const dup = id("metrics-dup");
    await post("/v1/track", { userId: "u-metrics" });
    await post("/v1/batch", {
      batch: [
        { type: "track", userId: "u-metrics" },
        { type: "track", userId: "u-metrics" },
        { type: "track", messageId: dup, userId: "u-metrics", event: "Fine" },
        { type: "track", messageId: dup, userId: "u-metrics", event: "Fine" },
      ],
    });
    await post("/v1/batch", { batch: Array.from({ length: BATCH_EVENTS + 1 }, () => ({})) });

    const end = await read();
    expect(end).toContain("# TYPE qualify_ingest_rejections_total counter");
    expect(metricValue(end, "qualify_ingest_rejections_total", { reason: "event" })).toBe(eventBefore + 3);
    expect(metricValue(end, "qualify_ingest_rejections_total", { reason: "batch-too-many-events" })).toBe(
      tooManyBefore + 1,
    );
    expect(metricValue(end, "qualify_ingest_duplicates_total")).toBe(duplicatesBefore + 1);
    expect(metricValue(end, "qualify_ingest_events_total", { endpoint: "batch" })).toBe(storedBefore + 1);
  });
});
