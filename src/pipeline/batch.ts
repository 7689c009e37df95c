import { randomUUID } from "node:crypto";
import type { Queryable } from "../db/database.js";
import { insertRows } from "../db/insert-rows.js";
import { type OutboxRow, writeOutbox } from "../db/outbox.js";
import { type Input, isHandRaiserReason, newLeadState } from "../engine/index.js";
import { scheduleRouting } from "../handoff/schedule-routing.js";
import { scheduleNurture } from "../nurture/schedule-nurture.js";
import { AccountCache } from "./account-cache.js";
import { leadInputs } from "./lead-inputs.js";
import { fromRow, type LeadRecord, type LeadRow, type StoredTransition, upsertLeads } from "./lead-record.js";
import type { AccountChange } from "./link-account.js";
import type { ActiveModel } from "./model-store.js";

/**
 * One pipeline transaction's working set: the leads it touched, the identities it looked up, and
 * what it will write. Everything is flushed together at the end, in the same transaction as the
 * events are marked processed, so a crash either keeps all of it or none of it.
 */

export type IdentityKind = "user" | "anonymous";

/** An input the batch derived for another lead (account changes); processed by a later batch. */
export interface DerivedInput {
  leadId: string;
  input: Input;
  notify: boolean;
}

/** An event the batch processed: its lead, and for a stage fact, what came of it. */
export interface ProcessedEvent {
  seq: number;
  leadId: string;
  outcome: unknown;
}

export interface LeadContext {
  lead: LeadRecord;
  /** Inputs already processed for this lead, in ingest order; loaded when a late input needs them. */
  history: Input[] | null;
  /** Inputs processed in this batch before `history` was loaded (they are not marked in the table yet). */
  fresh: Input[];
  transitions: StoredTransition[];
  isNew: boolean;
  dirty: boolean;
}

export class Batch {
  readonly leads = new Map<string, LeadContext>();
  private readonly identities = new Map<string, string | null>();
  readonly newIdentities: [IdentityKind, string, string][] = [];
  readonly outbox: OutboxRow[] = [];
  readonly derived: DerivedInput[] = [];
  /** Group calls that changed their account, whose members are told when the batch has run. */
  readonly accountChanges: AccountChange[] = [];
  private readonly joins = new Set<string>();
  readonly accounts: AccountCache;

  constructor(
    readonly tx: Queryable,
    readonly ws: string,
    readonly active: ActiveModel,
    readonly now: number,
    /** Whether a sequence or an audience is running (then changed leads are checked for nurture). */
    private readonly nurturing: boolean,
  ) {
    this.accounts = new AccountCache(tx, ws);
  }

  /** Loads, in two queries, the identities and leads the batch's events name (`leads`: by id). */
  async prefetch(users: string[], anons: string[], leads: string[]): Promise<void> {
    const rows = await this.tx.query<{ kind: IdentityKind; value: string; lead_id: string }>(
      `select kind, value, lead_id from identities
       where workspace_id = $1 and ((kind = 'user' and value = any($2)) or (kind = 'anonymous' and value = any($3)))`,
      [this.ws, users, anons],
    );
    for (const u of users) this.identities.set(`user:${u}`, null);
    for (const a of anons) this.identities.set(`anonymous:${a}`, null);
    for (const r of rows) this.identities.set(`${r.kind}:${r.value}`, r.lead_id);
    // A lead named by id (an account input, a stage fact) may have been merged since: its survivor
    // is locked with the rest, in the same sorted pass, rather than later on the way.
    const survivors =
      leads.length === 0
        ? []
        : await this.tx.query<{ id: string }>(
            `with recursive chain(id) as (
               select unnest($2::text[])
               union select l.merged_into from leads l join chain c on l.id = c.id
               where l.workspace_id = $1 and l.merged_into is not null)
             select id from chain`,
            [this.ws, leads],
          );
    await this.loadLeads([...new Set([...rows.map((r) => r.lead_id), ...survivors.map((r) => r.id)])]);
  }

  private async loadLeads(ids: string[]): Promise<void> {
    const missing = ids.filter((id) => !this.leads.has(id));
    if (missing.length === 0) return;
    // Locked until the batch commits: a batch in another process waits for it, then reads it fresh.
    const rows = await this.tx.query<LeadRow>(
      "select * from leads where workspace_id = $1 and id = any($2) order by id for update",
      [this.ws, missing],
    );
    for (const r of rows)
      this.leads.set(r.id, {
        lead: fromRow(r),
        history: null,
        fresh: [],
        transitions: [],
        isNew: false,
        dirty: false,
      });
  }

  /** The lead, following merges to the one that absorbed it; undefined when it does not exist (erased). */
  async lead(id: string): Promise<LeadContext | undefined> {
    let current = id;
    for (let hops = 0; hops < 100; hops++) {
      await this.loadLeads([current]);
      const ctx = this.leads.get(current);
      if (!ctx?.lead.mergedInto) return ctx;
      current = ctx.lead.mergedInto;
    }
    return undefined;
  }

  async identity(kind: IdentityKind, value: string): Promise<LeadContext | undefined> {
    const key = `${kind}:${value}`;
    let leadId = this.identities.get(key);
    if (leadId === undefined) {
      const rows = await this.tx.query<{ lead_id: string }>(
        "select lead_id from identities where workspace_id = $1 and kind = $2 and value = $3",
        [this.ws, kind, value],
      );
      leadId = rows[0]?.lead_id ?? null;
      this.identities.set(key, leadId);
    }
    return leadId === null ? undefined : this.lead(leadId);
  }

  bind(kind: IdentityKind, value: string, leadId: string): void {
    this.identities.set(`${kind}:${value}`, leadId);
    this.newIdentities.push([kind, value, leadId]);
  }

  /** After a merge, the absorbed lead's identities point at the survivor. */
  rebind(from: string, into: string): void {
    for (const [key, id] of this.identities) if (id === from) this.identities.set(key, into);
    for (const b of this.newIdentities) if (b[2] === from) b[2] = into;
  }

  createLead(at: number): LeadContext {
    const lead: LeadRecord = {
      id: randomUUID(),
      userId: null,
      email: null,
      emailDomain: null,
      name: null,
      traits: {},
      traitsAt: null,
      accountId: null,
      accountSource: null,
      stage: "visitor",
      scores: {},
      grade: null,
      scoresAsOf: null,
      mqlAt: null,
      firstMqlAt: null,
      state: newLeadState(this.active.model),
      modelVersion: this.active.version,
      owner: null,
      flags: [],
      mergedInto: null,
      firstSeenAt: at,
      lastEventAt: null,
      eventCount: 0,
    };
    const ctx: LeadContext = { lead, history: [], fresh: [], transitions: [], isNew: true, dirty: true };
    this.leads.set(lead.id, ctx);
    return ctx;
  }

  /**
   * The lead's processed inputs in ingest order: those stored as processed, then those processed
   * earlier in this batch. Loaded once, then kept current by `remember`.
   */
  async history(ctx: LeadContext): Promise<Input[]> {
    if (ctx.history) return ctx.history;
    const stored = await leadInputs(this.tx, this.ws, ctx.lead.id);
    ctx.history = [...stored.map((r) => r.input), ...ctx.fresh];
    ctx.fresh = [];
    return ctx.history;
  }

  /**
   * Loads the histories of these leads in one query (account inputs and stage facts are mostly late:
   * they replay their lead's history).
   */
  async prefetchHistories(ids: readonly string[]): Promise<void> {
    const wanted = ids.filter((id) => this.leads.get(id)?.history === null);
    if (wanted.length === 0) return;
    const rows = await this.tx.query<{ lead_id: string; input: Input }>(
      `select lead_id, input from events where workspace_id = $1 and lead_id = any($2) and processed
       order by lead_id, processed_order`,
      [this.ws, wanted],
    );
    const byLead = new Map<string, Input[]>(wanted.map((id) => [id, []]));
    for (const r of rows) byLead.get(r.lead_id)?.push(r.input);
    for (const [id, inputs] of byLead) {
      const ctx = this.leads.get(id) as LeadContext;
      ctx.history = [...inputs, ...ctx.fresh];
      ctx.fresh = [];
    }
  }

  /** Records an input as processed for the lead, for a later replay in this batch. */
  remember(ctx: LeadContext, input: Input): void {
    (ctx.history ?? ctx.fresh).push(input);
  }

  /**
   * Whether the batch has not yet told the lead to join the account by its email domain (it tells
   * it once; the lead joins when a later batch processes that input).
   */
  joining(leadId: string, accountId: string): boolean {
    const key = `${leadId}\u0000${accountId}`;
    if (this.joins.has(key)) return false;
    this.joins.add(key);
    return true;
  }

  /** Writes everything the batch changed. */
  async flush(processed: ProcessedEvent[], dropped: number[]): Promise<void> {
    const tx = this.tx;
    const ws = this.ws;
    // New and changed leads in one upsert (a statement per row was most of a batch's time).
    const changed = [...this.leads.values()].filter((c) => c.isNew || c.dirty);
    await upsertLeads(
      tx,
      ws,
      changed.map((c) => c.lead),
    );
    await insertRows(
      tx,
      "identities",
      ["workspace_id", "kind", "value", "lead_id"],
      this.newIdentities.map(([kind, value, leadId]) => [ws, kind, value, leadId]),
      "on conflict (workspace_id, kind, value) do update set lead_id = excluded.lead_id",
    );
    await writeTransitions(
      tx,
      ws,
      [...this.leads.values()].flatMap((c) => c.transitions),
      this.outbox,
    );
    await insertRows(
      tx,
      "events",
      ["workspace_id", "message_id", "kind", "lead_id", "at", "received_at", "input", "notify"],
      this.derived.map((d) => [
        ws,
        d.input.id,
        d.input.kind,
        d.leadId,
        d.input.at,
        this.now,
        JSON.stringify(d.input),
        d.notify,
      ]),
      "on conflict (workspace_id, message_id) do nothing",
    );
    if (processed.length > 0) {
      const order = await tx.query<{ n: number }>(
        "select nextval('events_processed_order') as n from generate_series(1, $1)",
        [processed.length],
      );
      await tx.query(
        `update events e set processed = true, lead_id = p.lead_id, processed_order = p.n, outcome = p.outcome
         from (select unnest($2::bigint[]) as seq, unnest($3::text[]) as lead_id, unnest($4::bigint[]) as n,
                      unnest($5::jsonb[]) as outcome) p
         where e.workspace_id = $1 and e.seq = p.seq`,
        [
          ws,
          processed.map((p) => p.seq),
          processed.map((p) => p.leadId),
          order.map((o) => o.n).sort((a, b) => a - b),
          processed.map((p) => (p.outcome === null ? null : JSON.stringify(p.outcome))),
        ],
      );
    }
    if (dropped.length > 0)
      await tx.query("delete from events where workspace_id = $1 and seq = any($2::bigint[])", [ws, dropped]);
    if (this.nurturing)
      await scheduleNurture(
        tx,
        ws,
        changed.map((c) => c.lead.id),
        this.now,
        true,
      );
  }
}

/**
 * Stores transitions with their notifications (for those that notify) and any other messages, in the
 * caller's transaction: live processing and model publishing both write through here.
 */
export async function writeTransitions(
  tx: Queryable,
  ws: string,
  transitions: StoredTransition[],
  messages: readonly OutboxRow[] = [],
): Promise<void> {
  await insertTransitions(tx, ws, transitions);
  await writeOutbox(tx, ws, [
    ...messages,
    ...transitions.filter((t) => t.notify).flatMap(transitionMessages),
  ]);
  // Each MQL goes to sales: routing runs within seconds (a historical import notifies nobody).
  await scheduleRouting(
    tx,
    ws,
    transitions
      .filter((t) => t.to === "mql" && t.notify)
      .map((t) => ({
        leadId: t.leadId,
        sourceKey: `${t.leadId}:${t.inputId}:${t.at}`,
        mqlAt: t.at,
        handRaiser: isHandRaiserReason(t.reason),
      })),
  );
}

async function insertTransitions(tx: Queryable, ws: string, transitions: StoredTransition[]): Promise<void> {
  await insertRows(
    tx,
    "transitions",
    [
      "workspace_id",
      "lead_id",
      "from_stage",
      "to_stage",
      "at",
      "trigger_at",
      "input_id",
      "actor",
      "by_user",
      "rules",
      "reason",
      "scores",
      "grade",
      "model_version",
      "would_have_qualified_at",
    ],
    transitions.map((t) => [
      ws,
      t.leadId,
      t.from,
      t.to,
      t.at,
      t.triggerAt,
      t.inputId,
      t.actor,
      t.by ?? null,
      JSON.stringify(t.rules),
      t.reason,
      JSON.stringify(t.scores),
      t.grade,
      t.modelVersion,
      t.wouldHaveQualifiedAt ?? null,
    ]),
  );
}

/** The notifications a transition sends: every stage change, and `lead.mql` for a qualification. */
function transitionMessages(t: StoredTransition): OutboxRow[] {
  const payload = {
    leadId: t.leadId,
    from: t.from,
    to: t.to,
    at: new Date(t.at).toISOString(),
    actor: t.actor,
    by: t.by ?? null,
    reason: t.reason,
    rules: t.rules,
    scores: t.scores,
    grade: t.grade,
    modelVersion: t.modelVersion,
  };
  const key = `${t.leadId}:${t.inputId}:${t.to}:${t.at}`;
  const out: OutboxRow[] = [{ topic: "lead.stage_changed", leadId: t.leadId, payload, key: `stage:${key}` }];
  if (t.to === "mql") out.push({ topic: "lead.mql", leadId: t.leadId, payload, key: `mql:${key}` });
  return out;
}
