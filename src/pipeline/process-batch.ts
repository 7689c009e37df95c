import { holdWorkspace, lockIdentities } from "../db/advisory-locks.js";
import type { Database } from "../db/database.js";
import {
  type EventInput,
  type IgnoredInput,
  type Input,
  newLeadState,
  replay,
  step,
  summarize,
  type Transition,
  takesInOrder,
} from "../engine/index.js";
import { watchScoreChanges } from "../handoff/webhooks/score-changes.js";
import { NURTURING_SQL } from "../nurture/schedule-nurture.js";
import { type AccountNeeds, groupCall } from "./account-cache.js";
import { Batch, type LeadContext, type ProcessedEvent } from "./batch.js";
import { companyDomain } from "./free-mail-domains.js";
import {
  applyGroupCall,
  followAccount,
  matchByDomain,
  matchesByDomain,
  tellAccountMembers,
} from "./link-account.js";
import type { ActiveModel } from "./model-store.js";
import { resolveLead } from "./resolve-identity.js";
import { storeTransitions } from "./store-transitions.js";
import { ANY_TOMBSTONES_SQL, isTombstoned } from "./tombstones.js";

/**
 * One pass of live processing: the oldest pending events, in ingest order, each through the engine
 * with its lead, all written in one transaction with the events marked processed.
 *
 * Several processes may run batches at once (PostgreSQL). Each takes the events of the partitions
 * it leases, skipping rows another batch holds; the identities its events name are locked before
 * they are read, and every lead it loads is locked (`for update`), so no two batches work on one
 * lead at once and the later one sees what the earlier one wrote. Accounts are serialized by
 * advisory keys taken before the leads (see `account-cache.ts`). `processed_order` is drawn at the
 * end, with every lock held, so it is each lead's true processing order.
 */

export interface PendingEvent {
  seq: number;
  kind: "event" | "account" | "fact";
  user_id: string | null;
  anonymous_id: string | null;
  previous_id: string | null;
  lead_id: string | null;
  notify: boolean;
  input: Input;
}

export interface EventOutcome {
  leadId: string | null;
  transitions: readonly Transition[];
  ignored: readonly IgnoredInput[];
  /** Set when processing the event failed repeatedly and it was set aside (not processed). */
  failed?: string;
}

export interface BatchResult {
  /** Events the batch took: processed, or dropped (an erased lead's; an account join that no longer holds). */
  taken: number;
  processed: number;
  /** What happened to each event, by seq (the API waits on facts it wrote). */
  outcomes: Map<number, EventOutcome>;
  /** Oldest receive time among the events processed, for the lag metric. */
  oldestReceivedAt: number | null;
  transitions: number;
  /** Set when another process published a model: nothing was processed; reload the model and retry. */
  staleModel?: boolean;
}

/** The email address traits carry, trimmed; null when they carry none. */
const traitEmail = (traits: Record<string, unknown> | undefined): string | null => {
  const v = traits?.email;
  return typeof v === "string" && v.includes("@") ? v.trim() : null;
};

function applyProfile(ctx: LeadContext, e: EventInput): boolean {
  if (e.type !== "identify" || !e.traits) return false;
  const lead = ctx.lead;
  if (lead.traitsAt !== null && e.at < lead.traitsAt) {
    // An older identify fills only what is still missing.
    lead.traits = { ...e.traits, ...lead.traits };
  } else {
    lead.traits = { ...lead.traits, ...e.traits };
    lead.traitsAt = e.at;
  }
  const t = lead.traits;
  const email = traitEmail(t);
  const name =
    typeof t.name === "string"
      ? t.name
      : [t.firstName ?? t.first_name, t.lastName ?? t.last_name]
          .filter((v) => typeof v === "string")
          .join(" ") || null;
  lead.name = name;
  ctx.dirty = true;
  const emailChanged = email !== null && email !== lead.email;
  if (email !== null) lead.email = email;
  return emailChanged;
}

/** Runs one input through the engine for its lead; a late input replays the lead's history. */
async function score(batch: Batch, ctx: LeadContext, input: Input, notify: boolean): Promise<EventOutcome> {
  const m = batch.active.model;
  const t = Math.max(batch.now, input.at);
  let state = ctx.lead.state;
  if (state === null || state.model !== m.key) {
    // Built by another model version (published by another process): rebuild the scores from the
    // history; the stage machine continues where the lead is.
    const rebuilt = newLeadState(m);
    if (state) rebuilt.l = state.l;
    replay(m, rebuilt, await batch.history(ctx), [], t);
    state = rebuilt;
  }
  let r = step(m, state, [input], t);
  if (r.needsReplayFrom !== undefined) r = replay(m, state, await batch.history(ctx), [input], t);
  const done = r as Exclude<typeof r, { needsReplayFrom: number }>;
  ctx.lead.state = done.state;
  batch.remember(ctx, input);
  storeTransitions(batch, ctx, done.transitions, notify);
  return { leadId: ctx.lead.id, transitions: done.transitions, ignored: done.ignored };
}

/** What the batch's events may do to accounts (see `AccountCache.prepare`). */
function accountNeeds(pending: readonly PendingEvent[]): AccountNeeds {
  const needs: AccountNeeds = { groupCalls: [], domains: [], joins: [] };
  for (const { kind, input } of pending) {
    if (input.kind === "account") {
      if (kind === "account" && input.member) needs.joins.push(input.groupId);
      continue;
    }
    if (input.kind !== "event") continue;
    if (input.type === "group" && input.groupId)
      needs.groupCalls.push(groupCall(input.groupId, input.traits));
    const email = input.type === "identify" ? traitEmail(input.traits) : null;
    const domain = email === null ? null : companyDomain(email);
    if (domain !== null) needs.domains.push(domain);
  }
  return needs;
}

function refreshSummary(batch: Batch, ctx: LeadContext): void {
  const lead = ctx.lead;
  if (lead.state === null || lead.mergedInto !== null) return;
  const s = summarize(batch.active.model, lead.state);
  lead.stage = s.stage;
  lead.scores = s.scores;
  lead.grade = s.grade;
  lead.scoresAsOf = s.asOf;
  lead.mqlAt = s.mqlAt;
  lead.modelVersion = batch.active.version;
}

export async function processBatch(
  db: Database,
  ws: string,
  active: ActiveModel,
  now: number,
  limit: number,
  /** The partitions this process leases; null takes every partition (one process, PGlite). */
  partitions: readonly number[] | null = null,
): Promise<BatchResult> {
  return db.transaction(async (tx) => {
    const result: BatchResult = {
      taken: 0,
      processed: 0,
      outcomes: new Map(),
      oldestReceivedAt: null,
      transitions: 0,
    };
    // A publish or an erasure in any process holds the gate alone; batches wait for it to end.
    await holdWorkspace(tx, ws, "shared");
    // What the batch needs to know of the workspace, in one round trip (read after the gate, so
    // that a publish that just ended is seen).
    const [current] = await tx.query<{ version: number | null; erased: boolean; nurturing: boolean }>(
      `select (select version from models where workspace_id = $1 and active) as version,
              ${ANY_TOMBSTONES_SQL} as erased, ${NURTURING_SQL} as nurturing`,
      [ws],
    );
    if (current?.version !== active.version) return { ...result, staleModel: true };
    const pending = await tx.query<PendingEvent & { received_at: number }>(
      `select seq, kind, user_id, anonymous_id, previous_id, lead_id, notify, input, received_at from events
       where workspace_id = $1 and not processed ${partitions ? "and partition = any($3::int[])" : ""}
       order by seq limit $2 for update skip locked`,
      partitions ? [ws, limit, partitions] : [ws, limit],
    );
    if (pending.length === 0) return result;
    const batch = new Batch(tx, ws, active, now, current.nurturing);
    const users = new Set<string>();
    const anons = new Set<string>();
    for (const p of pending) {
      for (const id of [p.user_id, p.previous_id]) if (id !== null) users.add(id);
      for (const id of [p.anonymous_id, p.previous_id]) if (id !== null) anons.add(id);
    }
    await lockIdentities(tx, ws, [
      ...[...users].map((u) => `user:${u}`),
      ...[...anons].map((a) => `anonymous:${a}`),
    ]);
    await batch.accounts.prepare(accountNeeds(pending));
    const named = pending.filter((p) => p.kind !== "event" && p.lead_id !== null);
    await batch.prefetch(
      [...users],
      [...anons],
      named.map((p) => p.lead_id as string),
    );
    // Account changes and stage facts are often late for their lead: load, in one query, the
    // histories of those that will replay (an account change reaches every member of the account).
    await batch.prefetchHistories(
      named.flatMap((p) => {
        const ctx = batch.leads.get(p.lead_id as string);
        return ctx && !ctx.lead.mergedInto && takesInOrder(active.model, ctx.lead.state, p.input)
          ? []
          : [p.lead_id as string];
      }),
    );
    const processed: ProcessedEvent[] = [];
    const dropped: number[] = [];
    const checkErased = current.erased;
    // Events of an erased lead, and account joins the lead no longer matches, are deleted, not processed.
    const drop = (seq: number, inputId: string, reason = "the lead was erased") => {
      dropped.push(seq);
      result.outcomes.set(seq, { leadId: null, transitions: [], ignored: [{ inputId, reason }] });
    };

    for (const p of pending) {
      result.oldestReceivedAt = Math.min(result.oldestReceivedAt ?? p.received_at, p.received_at);
      const input = p.input;
      let ctx: LeadContext | undefined;
      if (p.kind === "event") {
        if (checkErased && (await isTombstoned(tx, ws, p))) {
          drop(p.seq, input.id);
          continue;
        }
        ctx = await resolveLead(batch, {
          userId: p.user_id,
          anonymousId: p.anonymous_id,
          previousId: p.previous_id,
          at: input.at,
          seq: p.seq,
          messageId: input.id,
          notify: p.notify,
        });
      } else {
        ctx = p.lead_id === null ? undefined : await batch.lead(p.lead_id);
        if (!ctx) {
          drop(p.seq, input.id);
          continue;
        }
        if (
          input.kind === "account" &&
          input.member &&
          ctx.lead.accountId !== input.groupId &&
          !matchesByDomain(batch, ctx.lead, input)
        ) {
          drop(p.seq, input.id, "the lead no longer matches the account by its email domain");
          continue;
        }
      }
      if (input.kind === "event") {
        if (applyProfile(ctx, input)) await matchByDomain(batch, ctx, input, p.notify);
        if (input.type === "group" && input.groupId) await applyGroupCall(batch, ctx, input, p.notify);
      }
      const outcome = await score(batch, ctx, input, p.notify);
      followAccount(ctx.lead);
      result.outcomes.set(p.seq, outcome);
      result.transitions += outcome.transitions.length;
      if (input.kind === "event") {
        ctx.lead.lastEventAt = Math.max(ctx.lead.lastEventAt ?? input.at, input.at);
        ctx.lead.eventCount++;
      }
      ctx.dirty = true;
      // A fact's outcome is kept, for the API process waiting on it (it may not be this one).
      processed.push({
        seq: p.seq,
        leadId: ctx.lead.id,
        outcome: p.kind === "fact" ? { transitions: outcome.transitions, ignored: outcome.ignored } : null,
      });
    }
    await batch.accounts.flush();
    await tellAccountMembers(batch);
    // Only leads the batch changed are written, so only they need their summary. With a
    // subscription to lead.score_changed, their scores before and after are compared.
    const scoreChanges = await watchScoreChanges(db, tx, ws);
    for (const ctx of batch.leads.values()) {
      if (!ctx.dirty) continue;
      scoreChanges?.remember(ctx.lead);
      refreshSummary(batch, ctx);
    }
    // Events of a lead merged later in the batch belong to the survivor.
    const survivor = (id: string): string => {
      const merged = batch.leads.get(id)?.lead.mergedInto;
      return merged ? survivor(merged) : id;
    };
    for (const p of processed) p.leadId = survivor(p.leadId);
    if (scoreChanges) batch.outbox.push(...scoreChanges.messages(batch.leads.values(), processed));
    await batch.flush(processed, dropped);
    result.taken = pending.length;
    result.processed = processed.length;
    return result;
  });
}
