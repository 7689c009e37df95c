import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FuzzRequest, fuzzSpec, renderRequest } from "../support/fuzz-requests.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService, type TestService } from "../support/test-service.js";

/**
 * Property-based fuzzing of Segment ingest against the real server: whatever arrives (wrong types,
 * unknown fields, invalid timestamps, huge strings, 100,000-level nesting, random bytes, truncated
 * or mislabelled compression, odd content types), the answer is JSON with a 2xx or 4xx, a call
 * acknowledged is stored, a well-formed call sent alongside is not harmed, the server stays up, live
 * processing does not get stuck, and what was stored before is unchanged.
 */

/** FUZZ_RUNS and FUZZ_SEED (printed by a failure) override the number of runs and the seed. */
const RUNS = process.env.FUZZ_RUNS
  ? { pglite: Number(process.env.FUZZ_RUNS), postgres: Number(process.env.FUZZ_RUNS) }
  : ({ pglite: 150, postgres: 100 } as const);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

const T = Date.parse("2026-03-01T09:00:00Z");
const SEED_IDS = Array.from({ length: 24 }, (_, i) => `seed-msg-${i}`);

function seedEvent(id: string, i: number): Record<string, unknown> {
  const base = {
    messageId: id,
    userId: `seed-user-${i % 4}`,
    anonymousId: `seed-anon-${i % 4}`,
    timestamp: new Date(T + i * 3_600_000).toISOString(),
  };
  switch (i % 4) {
    case 0:
      return {
        ...base,
        type: "identify",
        traits: { email: `p${i}@seed.example`, title: "VP Marketing", name: "Seed" },
      };
    case 1:
      return { ...base, type: "track", event: "Webinar Attended", properties: { type: "ebook" } };
    case 2:
      return { ...base, type: "page", name: "Pricing", properties: { path: "/pricing" } };
    default:
      return { ...base, type: "track", event: i > 20 ? "Demo Requested" : "Asset Downloaded" };
  }
}

async function send(url: string, req: FuzzRequest): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(`${url}${req.path}`, {
    method: req.method,
    headers: req.headers,
    ...(req.body === undefined ? {} : { body: req.body }),
  });
  return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
}

describe.each(DATABASE_KINDS)("ingest fuzzing on %s", (kind) => {
  let svc: TestService;
  const auth = () => `Basic ${Buffer.from(`${svc.writeKey}:`).toString("base64")}`;
  const post = (path: string, body: unknown) =>
    fetch(`${svc.url}${path}`, {
      method: "POST",
      headers: { authorization: auth(), "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  /** The stored rows the fuzzing must not touch: the seed events and their leads, with everything derived. */
  async function snapshot() {
    const db = svc.service.db;
    const leadIds = (
      await db.query<{ lead_id: string }>(
        "select distinct lead_id from events where workspace_id = 'default' and message_id = any($1) order by lead_id",
        [SEED_IDS],
      )
    ).map((r) => r.lead_id);
    const events = await db.query(
      `select seq, message_id, kind, type, user_id, anonymous_id, previous_id, lead_id, at, received_at, input,
              notify, processed
       from events where workspace_id = 'default' and (message_id = any($1) or lead_id = any($2)) order by seq`,
      [SEED_IDS, leadIds],
    );
    const leads = await db.query(
      `select id, user_id, email, email_domain, name, traits, account_id, stage, scores, grade, scores_as_of,
              mql_at, first_mql_at, state, model_version, flags, merged_into, first_seen_at, last_event_at, event_count
       from leads where workspace_id = 'default' and id = any($1) order by id`,
      [leadIds],
    );
    const transitions = await db.query(
      "select seq, lead_id, from_stage, to_stage, at, input_id from transitions where lead_id = any($1) order by seq",
      [leadIds],
    );
    const identities = await db.query(
      "select kind, value, lead_id from identities where lead_id = any($1) order by kind, value",
      [leadIds],
    );
    return { leadIds, events, leads, transitions, identities };
  }

  let before: Awaited<ReturnType<typeof snapshot>>;

  beforeAll(async () => {
    svc = await startTestService(kind);
    const res = await post("/v1/batch", { batch: SEED_IDS.map(seedEvent) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ success: true, accepted: SEED_IDS.length, rejected: [] });
    await svc.drain();
    before = await snapshot();
    expect(before.events.length).toBeGreaterThanOrEqual(SEED_IDS.length);
    expect(before.leads.length).toBe(4);
  }, 60_000);

  afterAll(async () => {
    await svc?.close();
  });

  it("answers every hostile request with JSON and a 2xx or 4xx, and loses or changes nothing", async () => {
    const acknowledged = new Set<string>();
    const statuses = new Map<number, number>();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fuzzSpec(SEED_IDS), async (spec) => {
        const req = renderRequest(spec, svc.writeKey);
        // A well-formed call in flight at the same time (often in the same group commit) must not suffer.
        const canaryId = `canary-${run++}-${Math.random().toString(36).slice(2)}`;
        const [res, canary] = await Promise.all([
          send(svc.url, req),
          post("/v1/track", { messageId: canaryId, userId: "fz-canary", event: "Email Opened" }),
        ]);
        const label = `${req.label} -> ${res.status} ${res.text.slice(0, 300)}`;
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);

        expect(res.status, label).toBeGreaterThanOrEqual(200);
        expect(res.status, label).toBeLessThan(500);
        expect(res.status >= 300 && res.status < 400, label).toBe(false);
        expect(res.type, label).toMatch(/^application\/json/);
        const body = JSON.parse(res.text);
        if (res.status >= 400) {
          expect(typeof body.error, label).toBe("string");
          expect(typeof body.message, label).toBe("string");
        }
        if (res.status === 200 && req.route !== "/v1/batch") {
          expect(body, label).toEqual({ success: true });
          if (req.messageId !== undefined) acknowledged.add(req.messageId);
        }
        if (res.status === 200 && req.route === "/v1/batch" && req.batchIds) {
          expect(body.success, label).toBe(true);
          expect(body.accepted + body.duplicates + body.rejected.length, label).toBe(req.batchIds.length);
          const rejected = new Set((body.rejected as { index: number }[]).map((r) => r.index));
          req.batchIds.forEach((id, i) => {
            if (id !== undefined && !rejected.has(i)) acknowledged.add(id);
          });
        }

        expect(canary.status, `canary alongside ${label}`).toBe(200);
        await canary.text();
        acknowledged.add(canaryId);
      }),
      { numRuns: RUNS[kind], ...(SEED === undefined ? {} : { seed: SEED }) },
    );

    if (process.env.FUZZ_RUNS)
      console.log(kind, "statuses", Object.fromEntries(statuses), "acknowledged", acknowledged.size);

    // Still up, and ready.
    const health = await fetch(`${svc.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
    const ready = await fetch(`${svc.url}/readyz`);
    expect(ready.status).toBe(200);

    // Live processing takes everything that was stored, without a failed batch.
    await svc.drain();
    expect(
      svc.service.pipeline.stats.errors,
      "failed pipeline batches: a stored event cannot be processed",
    ).toBe(0);
    const pipeline = await svc.api("GET", "/api/pipeline");
    expect(pipeline.status).toBe(200);
    expect(pipeline.body.pending).toBe(0);

    // Every call acknowledged is stored.
    const ids = [...acknowledged];
    const stored = new Set(
      (
        await svc.service.db.query<{ message_id: string }>(
          "select message_id from events where workspace_id = 'default' and message_id = any($1)",
          [ids],
        )
      ).map((r) => r.message_id),
    );
    expect(ids.filter((id) => !stored.has(id))).toEqual([]);
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);

    // What was stored before is exactly as it was.
    expect(await snapshot()).toEqual(before);
  }, 600_000);
});
