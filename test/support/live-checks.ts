import type { Queryable } from "../../src/db/database.js";
import type { CompiledModel, Input } from "../../src/engine/index.js";
import type { LeadRow } from "../../src/pipeline/lead-record.js";
import { compileStored } from "../../src/pipeline/model-store.js";
import type { TestService } from "./test-service.js";

/**
 * Helpers for tests of the live service: Segment calls over real HTTP with the write key, and
 * reading back what the pipeline stored.
 */

const WS = "default";

export const basicAuth = (writeKey: string) => `Basic ${Buffer.from(`${writeKey}:`).toString("base64")}`;

/** A Segment call as an SDK would send it; `type` picks the endpoint of a single call. */
export type Call = Record<string, unknown> & { type: string; messageId: string };

// biome-ignore lint/suspicious/noExplicitAny: tests read answers loosely
export async function postIngest(service: TestService, path: string, body: unknown): Promise<any> {
  const res = await fetch(`${service.url}${path}`, {
    method: "POST",
    headers: { authorization: basicAuth(service.writeKey), "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Sends calls as one /v1/batch; every one must be accepted (stored or a duplicate). */
export async function sendBatch(service: TestService, calls: readonly Call[]): Promise<void> {
  const answer = await postIngest(service, "/v1/batch", { batch: calls });
  if (answer.rejected.length > 0) throw new Error(`rejected: ${JSON.stringify(answer.rejected)}`);
}

/** Sends one call to its own endpoint (/v1/track, /v1/identify, …). */
export async function sendOne(service: TestService, call: Call): Promise<void> {
  const { type, ...body } = call;
  await postIngest(service, `/v1/${type}`, body);
}

/** The stored version 1 of the model (the default model), compiled as the pipeline compiles it. */
export async function storedModel(db: Queryable, version = 1): Promise<CompiledModel> {
  const rows = await db.query<{ source: string }>(
    "select source from models where workspace_id = $1 and version = $2",
    [WS, version],
  );
  const source = rows[0]?.source;
  if (source === undefined) throw new Error(`no model version ${version}`);
  return compileStored(source, version);
}

/** The lead's processed inputs, in the order the pipeline processed them (ingest order). */
export async function processedInputs(db: Queryable, leadId: string): Promise<Input[]> {
  const rows = await db.query<{ input: Input }>(
    "select input from events where workspace_id = $1 and lead_id = $2 and processed order by processed_order",
    [WS, leadId],
  );
  return rows.map((r) => r.input);
}

export async function leadRow(db: Queryable, id: string): Promise<LeadRow> {
  const rows = await db.query<LeadRow>("select * from leads where workspace_id = $1 and id = $2", [WS, id]);
  const row = rows[0];
  if (!row) throw new Error(`no lead ${id}`);
  return row;
}

/** The lead a userId (or anonymousId) resolves to, through the identities table. */
export async function leadIdOf(
  db: Queryable,
  value: string,
  kind: "user" | "anonymous" = "user",
): Promise<string | undefined> {
  const rows = await db.query<{ lead_id: string }>(
    "select lead_id from identities where workspace_id = $1 and kind = $2 and value = $3",
    [WS, kind, value],
  );
  return rows[0]?.lead_id;
}

export interface StoredTransitionRow {
  from: string;
  to: string;
  at: number;
  triggerAt: number;
  inputId: string;
}

/** The lead's stored transitions in the order they were written. */
export async function storedTransitions(db: Queryable, leadId: string): Promise<StoredTransitionRow[]> {
  const rows = await db.query<{
    from_stage: string;
    to_stage: string;
    at: number;
    trigger_at: number;
    input_id: string;
  }>(
    `select from_stage, to_stage, at, trigger_at, input_id from transitions
     where workspace_id = $1 and lead_id = $2 order by seq`,
    [WS, leadId],
  );
  return rows.map((r) => ({
    from: r.from_stage,
    to: r.to_stage,
    at: r.at,
    triggerAt: r.trigger_at,
    inputId: r.input_id,
  }));
}

/** How many outbox rows of this topic there are (for this lead, when given). */
export async function outboxCount(db: Queryable, topic: string, leadId?: string): Promise<number> {
  const rows = await db.query<{ n: number }>(
    `select count(*)::int as n from outbox where workspace_id = $1 and topic = $2
       and ($3::text is null or lead_id = $3)`,
    [WS, topic, leadId ?? null],
  );
  return rows[0]?.n ?? 0;
}

/** A small deterministic PRNG (mulberry32), so a failing workload can be run again from its seed. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  const chance = (p: number) => next() < p;
  const shuffle = <T>(xs: T[]): T[] => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
    }
    return xs;
  };
  return { next, int, pick, chance, shuffle };
}
