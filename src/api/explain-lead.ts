import {
  type CompiledModel,
  type Contribution,
  compareInputs,
  evaluate,
  type Input,
  newLeadState,
  step,
  summarize,
} from "../engine/index.js";
import { QualifyError } from "../errors.js";
import type { StoredInput } from "../pipeline/lead-inputs.js";
import type { LeadRecord } from "../pipeline/lead-record.js";
import { isoTime as iso } from "./lead-queries.js";

/**
 * Explanations are not stored: the lead's stored inputs are replayed through the engine, which is
 * pure, so the answer equals what live processing computed.
 */

export function explainLead(m: CompiledModel, lead: LeadRecord, inputs: StoredInput[], at: number) {
  const e = evaluate(
    m,
    inputs.map((i) => i.input),
    at,
  );
  // The live state knows the lead's stage as it was reached in ingest order; use it for "now".
  const live =
    lead.state && lead.state.model === m.key && at >= lead.state.asOf ? summarize(m, lead.state, at) : null;
  return {
    leadId: lead.id,
    at: iso(at),
    model: m.key,
    stage: live?.stage ?? e.stage,
    scores: e.scores,
    grade: e.grade,
    mqlAt: iso(live ? live.mqlAt : e.mqlAt),
    qualification: live?.qualification ?? e.qualification,
    contributions: e.contributions.map((c) => ({ ...c, ...(c.at === undefined ? {} : { at: iso(c.at) }) })),
    ignored: e.ignored,
  };
}

/** Points each event earned (effective at `at`), keyed by message id. */
export function pointsByEvent(
  m: CompiledModel,
  inputs: StoredInput[],
  at: number,
): Map<string, Contribution[]> {
  const e = evaluate(
    m,
    inputs.map((i) => i.input),
    at,
  );
  const out = new Map<string, Contribution[]>();
  for (const c of e.contributions) {
    if (c.eventId === undefined) continue;
    const list = out.get(c.eventId) ?? [];
    list.push(c);
    out.set(c.eventId, list);
  }
  return out;
}

export function timeline(
  m: CompiledModel,
  inputs: StoredInput[],
  now: number,
  opts: { limit: number; cursor?: string | undefined },
) {
  const points = pointsByEvent(m, inputs, now);
  // Newest first, by event time; the cursor is the (time, seq) of the last item of the page before.
  let after: [number, number] | null = null;
  if (opts.cursor !== undefined) {
    const [at, seq] = opts.cursor.split("_").map(Number);
    if (!Number.isFinite(at) || !Number.isFinite(seq))
      throw new QualifyError("INPUT_INVALID", "cursor is not one this API returned", [
        { path: "cursor", message: "malformed" },
      ]);
    after = [at as number, seq as number];
  }
  const sorted = inputs
    .filter((i) => after === null || i.input.at < after[0] || (i.input.at === after[0] && i.seq < after[1]))
    .sort((a, b) => b.input.at - a.input.at || b.seq - a.seq);
  const page = sorted.slice(0, opts.limit);
  const items = page.map(({ seq, receivedAt, input }) => {
    const cs = points.get(input.id) ?? [];
    const round = (n: number) => Math.round(n * 100) / 100;
    return {
      seq,
      messageId: input.id,
      kind: input.kind,
      at: iso(input.at),
      receivedAt: iso(receivedAt),
      ...(input.kind === "event"
        ? {
            type: input.type,
            ...(input.event === undefined ? {} : { event: input.event }),
            ...(input.name === undefined ? {} : { name: input.name }),
            properties: input.properties ?? {},
            traits: input.traits ?? {},
            context: input.context ?? {},
          }
        : input.kind === "fact"
          ? { fact: input.fact, actor: input.actor, by: input.by ?? null }
          : { accountId: input.groupId, traits: input.traits }),
      points: round(cs.reduce((s, c) => s + c.points, 0)),
      rawPoints: round(cs.reduce((s, c) => s + c.raw, 0)),
      rules: cs.map((c) => ({
        group: c.group,
        rule: c.rule,
        raw: c.raw,
        factor: c.factor,
        points: c.points,
      })),
    };
  });
  const last = page[page.length - 1];
  return { items, nextCursor: sorted.length > opts.limit && last ? `${last.input.at}_${last.seq}` : null };
}

export function parseTime(field: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = Date.parse(v);
  if (!Number.isFinite(ms))
    throw new QualifyError("INPUT_INVALID", `${field}: expected an ISO-8601 date, got ${JSON.stringify(v)}`, [
      { path: field, message: "expected an ISO-8601 date" },
    ]);
  return ms;
}

/** The score thresholds of the model's MQL condition (every `score` condition's gte or gt), per group. */
export function mqlThresholds(m: CompiledModel): { group: string; value: number }[] {
  const out: { group: string; value: number }[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) for (const x of node) walk(x);
    else if (node !== null && typeof node === "object") {
      const o = node as Record<string, unknown>;
      // A parsed condition's leaf: { subject: "score", key: <group>, ops: { gte | gt } }.
      const ops = (o.ops ?? {}) as Record<string, unknown>;
      const value = typeof ops.gte === "number" ? ops.gte : typeof ops.gt === "number" ? ops.gt : undefined;
      if (o.subject === "score" && typeof o.key === "string" && value !== undefined)
        out.push({ group: o.key, value });
      for (const v of Object.values(o)) walk(v);
    }
  };
  walk(m.spec.qualification.mql);
  return out;
}

/**
 * The lead's scores at `points` times spread evenly from its first input to `to`: the same answers
 * as `explain?at=` at each time (the engine's `evaluate`), computed in one pass, with the engine's
 * incremental `step` over the inputs in time order and a summary at each time.
 */
export function scoreHistory(m: CompiledModel, inputs: StoredInput[], to: number, points: number) {
  const sorted = inputs.map((i) => i.input).sort(compareInputs);
  const from = Math.min(to, sorted[0]?.at ?? to);
  const times = [
    ...new Set(
      Array.from({ length: points }, (_, k) =>
        points === 1 ? to : Math.round(from + ((to - from) * k) / (points - 1)),
      ),
    ),
  ];
  const state = newLeadState(m);
  let next = 0;
  const series = times.map((t) => {
    const batch: Input[] = [];
    while (next < sorted.length && (sorted[next] as Input).at <= t) batch.push(sorted[next++] as Input);
    step(m, state, batch, t);
    return { at: iso(t), scores: summarize(m, state, t).scores };
  });
  return { model: m.key, thresholds: mqlThresholds(m), series };
}
