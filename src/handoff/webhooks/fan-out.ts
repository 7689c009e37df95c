import type { Queryable } from "../../db/database.js";
import { insertRows } from "../../db/insert-rows.js";
import { type CompiledModel, evaluate, type Input } from "../../engine/index.js";
import { compileStored } from "../../pipeline/model-store.js";
import {
  buildPayload,
  emailMessage,
  type LeadFacts,
  messageTime,
  type PayloadV1,
  slackMessage,
  type Why,
} from "./payload.js";
import { largestChange } from "./score-changes.js";
import { activeSubscriptions, SCORE_CHANGED, type Subscription } from "./subscriptions.js";

/**
 * The fan-out: outbox messages not yet handled become deliveries, one per matching active
 * subscription, in one transaction that claims the messages (`for update skip locked`, so several
 * processes share the work) and marks them (`delivered_at`: handed to notifications). The payload
 * is built here, once per message: the lead as stored, and the engine's contributions at the
 * message's time (why it qualified), replayed from the lead's inputs as `explain` does.
 */

interface MessageRow {
  workspace_id: string;
  seq: number;
  topic: string;
  lead_id: string | null;
  payload: Record<string, unknown>;
  idempotency_key: string;
  created_ms: number;
}

/** Compiled models by workspace and version: a fan-out asks only which version is active. */
export class ModelCache {
  private readonly compiled = new Map<string, CompiledModel>();

  async active(tx: Queryable, ws: string): Promise<CompiledModel | null> {
    const rows = await tx.query<{ version: number }>(
      "select version from models where workspace_id = $1 and active",
      [ws],
    );
    const version = rows[0]?.version;
    if (version === undefined) return null;
    const key = `${ws}@${version}`;
    let m = this.compiled.get(key);
    if (!m) {
      const src = await tx.query<{ source: string }>(
        "select source from models where workspace_id = $1 and version = $2",
        [ws, version],
      );
      if (!src[0]) return null;
      m = compileStored(src[0].source, version);
      if (this.compiled.size > 50) this.compiled.clear();
      this.compiled.set(key, m);
    }
    return m;
  }
}

/** Whether a subscription wants this message (its types; for score changes, its threshold). */
export function wants(s: Subscription, topic: string, data: Record<string, unknown>): boolean {
  if (!s.events.includes(topic)) return false;
  if (topic !== SCORE_CHANGED) return true;
  const change = largestChange((data.delta ?? {}) as Record<string, number>, s.scoreGroup);
  return change > 0 && change >= (s.minScoreDelta ?? 0);
}

interface LeadRow {
  id: string;
  user_id: string | null;
  email: string | null;
  name: string | null;
  stage: string;
  grade: string | null;
  scores: Record<string, number>;
  mql_at: number | null;
  owner: string | null;
  merged_into: string | null;
  owner_email: string | null;
  owner_name: string | null;
}

async function loadLeads(tx: Queryable, ws: string, ids: string[]): Promise<Map<string, LeadFacts>> {
  const rows = await tx.query<LeadRow>(
    `select l.id, l.user_id, l.email, l.name, l.stage, l.grade, l.scores, l.mql_at, l.owner, l.merged_into,
       u.email as owner_email, u.name as owner_name
     from leads l left join users u on u.workspace_id = l.workspace_id and u.id = l.owner
     where l.workspace_id = $1 and l.id = any($2::text[])`,
    [ws, ids],
  );
  return new Map(
    rows.map((r) => [
      r.id,
      {
        id: r.id,
        userId: r.user_id,
        email: r.email,
        name: r.name,
        stage: r.stage,
        grade: r.grade,
        scores: r.scores,
        mqlAt: r.mql_at === null ? null : Number(r.mql_at),
        owner: r.owner === null ? null : { id: r.owner, email: r.owner_email, name: r.owner_name },
        mergedInto: r.merged_into,
      },
    ]),
  );
}

async function loadInputs(tx: Queryable, ws: string, ids: string[]): Promise<Map<string, Input[]>> {
  const rows = await tx.query<{ lead_id: string; input: Input }>(
    `select lead_id, input from events where workspace_id = $1 and lead_id = any($2::text[]) and processed
     order by lead_id, processed_order`,
    [ws, ids],
  );
  const out = new Map<string, Input[]>();
  for (const r of rows) {
    const list = out.get(r.lead_id) ?? [];
    list.push(r.input);
    out.set(r.lead_id, list);
  }
  return out;
}

function explain(m: CompiledModel, inputs: Input[], at: number): Why | null {
  if (inputs.length === 0) return null;
  try {
    const e = evaluate(m, inputs, at);
    const events = new Map<string, string>();
    for (const i of inputs)
      if (i.kind === "event") events.set(i.id, i.event ?? (i.name ? `${i.type} ${i.name}` : i.type));
    return { at, scores: e.scores, grade: e.grade, contributions: e.contributions, events };
  } catch {
    // An input the model cannot take (stored by another version): the payload goes without reasons.
    return null;
  }
}

/**
 * Whether a message's payload carries the engine's reasons. Audience joins and leaves do not: a
 * rebuild makes one per member, and the lead's stored scores say enough about a segment.
 */
const explains = (topic: string) => !topic.startsWith("audience.");

/** The recipient of an email: its fixed addresses, else the handoff's owner, else the lead's. */
function emailRecipient(s: Subscription, p: PayloadV1): string | null {
  if (s.emailTo) return s.emailTo.join(", ");
  const h = p.data.handoff as { owner?: { email?: string | null } | null } | undefined;
  if (h && typeof h === "object") return h.owner?.email ?? null;
  return p.lead?.owner?.email ?? null;
}

export interface FanOutResult {
  /** Outbox messages handled (delivered_at set). */
  messages: number;
  deliveries: number;
}

/** Handles up to `limit` outbox messages, oldest first, in the caller's transaction. */
export async function fanOut(
  tx: Queryable,
  o: { now: number; limit: number; models: ModelCache },
): Promise<FanOutResult> {
  const rows = await tx.query<MessageRow>(
    `select workspace_id, seq, topic, lead_id, payload, idempotency_key,
       (extract(epoch from created_at) * 1000)::bigint as created_ms
     from outbox where delivered_at is null
     order by workspace_id, seq limit $1 for update skip locked`,
    [o.limit],
  );
  if (rows.length === 0) return { messages: 0, deliveries: 0 };
  const subs = await activeSubscriptions(tx);
  const deliveries: unknown[][] = [];
  const byWs = new Map<string, { row: MessageRow; to: Subscription[] }[]>();
  for (const row of rows) {
    const to = (subs.get(row.workspace_id) ?? []).filter((s) => wants(s, row.topic, row.payload));
    if (to.length === 0) continue;
    const list = byWs.get(row.workspace_id) ?? [];
    list.push({ row, to });
    byWs.set(row.workspace_id, list);
  }
  for (const [ws, items] of byWs) {
    const leadIds = [...new Set(items.flatMap((i) => (i.row.lead_id === null ? [] : [i.row.lead_id])))];
    const leads = await loadLeads(tx, ws, leadIds);
    const whyIds = new Set(
      items.flatMap((i) => (explains(i.row.topic) && i.row.lead_id ? [i.row.lead_id] : [])),
    );
    const inputs = await loadInputs(tx, ws, [...whyIds]);
    const model = await o.models.active(tx, ws);
    for (const { row, to } of items) {
      const time = messageTime(row.payload, Number(row.created_ms));
      const lead = row.lead_id === null ? null : (leads.get(row.lead_id) ?? null);
      const why =
        model && row.lead_id !== null && explains(row.topic)
          ? explain(model, inputs.get(row.lead_id) ?? [], time)
          : null;
      const payload = buildPayload(
        { workspaceId: ws, key: row.idempotency_key, topic: row.topic, data: row.payload, time },
        lead,
        why,
      );
      let json: string | null = null;
      let slack: string | null = null;
      for (const s of to) {
        let body: string;
        let recipient: string | null = null;
        if (s.kind === "email") {
          recipient = emailRecipient(s, payload);
          // Nobody to mail (an MQL not yet routed, say): no delivery.
          if (recipient === null) continue;
          body = json ??= JSON.stringify(payload);
        } else if (s.format === "slack") body = slack ??= JSON.stringify(slackMessage(payload));
        else body = json ??= JSON.stringify(payload);
        deliveries.push([
          ws,
          s.id,
          row.seq,
          payload.id,
          row.topic,
          row.lead_id,
          body,
          recipient,
          o.now,
          o.now,
          o.now,
        ]);
      }
    }
  }
  await insertRows(
    tx,
    "webhook_deliveries",
    [
      "workspace_id",
      "subscription_id",
      "outbox_seq",
      "event_id",
      "topic",
      "lead_id",
      "body",
      "recipient",
      "created_at",
      "window_start",
      "next_attempt_at",
    ],
    deliveries,
    "on conflict (workspace_id, subscription_id, outbox_seq) where outbox_seq is not null do nothing",
  );
  await tx.query(
    `update outbox o set delivered_at = now()
     from (select unnest($1::text[]) as ws, unnest($2::bigint[]) as seq) m
     where o.workspace_id = m.ws and o.seq = m.seq`,
    [rows.map((r) => r.workspace_id), rows.map((r) => r.seq)],
  );
  return { messages: rows.length, deliveries: deliveries.length };
}

/** The email of a delivery, rendered from its stored payload. */
export function renderEmail(body: string) {
  return emailMessage(JSON.parse(body) as PayloadV1);
}
