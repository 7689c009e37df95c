/**
 * Attribution models (docs/analytics.md): how one outcome's credit is split among a lead's
 * touchpoints. Pure. Every model's credits for an outcome add up to 1 when the lead has a
 * touchpoint at or before it (else to 0: the report books it under "(no touch)").
 */

export const ATTRIBUTION_MODELS = ["firstTouch", "lastTouch", "linear", "uShaped", "wShaped"] as const;
export type AttributionModel = (typeof ATTRIBUTION_MODELS)[number];

/** Each model's column in `attribution_credits` (migration 011). */
export const MODEL_COLUMN: Record<AttributionModel, string> = {
  firstTouch: "first_touch",
  lastTouch: "last_touch",
  linear: "linear",
  uShaped: "u_shaped",
  wShaped: "w_shaped",
};

/** When the milestones the positional models need happened (null: not yet). */
export interface Milestones {
  leadAt: number | null;
  opportunityAt: number | null;
}

/** Touch start times, in order. */
export type TouchTimes = readonly number[];

/** The index of the last touch that started at or before `at` (-1: none). */
function lastAtOrBefore(touches: TouchTimes, at: number): number {
  let i = -1;
  for (let k = 0; k < touches.length && (touches[k] as number) <= at; k++) i = k;
  return i;
}

/**
 * Positional weights over touches 0..last: each role (first touch, lead creation, opportunity
 * creation) gives its weight to its touch (a touch with two roles gets both), the touches with no
 * role share `rest` equally, and all is scaled to add up to 1.
 */
function positional(last: number, roles: readonly [number, number][], rest: number): number[] {
  const w = new Array<number>(last + 1).fill(0);
  for (const [index, weight] of roles) w[index] = (w[index] ?? 0) + weight;
  const others = w.filter((x) => x === 0).length;
  if (others > 0) for (let i = 0; i <= last; i++) if (w[i] === 0) w[i] = rest / others;
  const total = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / total);
}

const uShaped = (leadTouch: number) =>
  positional(
    leadTouch,
    [
      [0, 40],
      [leadTouch, 40],
    ],
    20,
  );

/**
 * Each touch's credit for an outcome at `at` under `model`, aligned with `touches`:
 * - first touch: all to the first; last touch: all to the last at or before the outcome;
 * - linear: equal shares of the touches at or before the outcome;
 * - U-shaped: the touches up to the lead-creation touch (the last one at or before the lead was
 *   created): 40 % to the first, 40 % to the lead-creation touch, 20 % shared by those between;
 * - W-shaped: the touches up to the opportunity-creation touch: 30 % each to the first, the
 *   lead-creation and the opportunity-creation touch, 10 % shared by the others. Before an
 *   opportunity exists (outcomes earlier than it), U-shaped.
 * A touch with two roles gets both weights; with no other touches, the weights are scaled to 100 %.
 */
export function credit(touches: TouchTimes, model: AttributionModel, at: number, m: Milestones): number[] {
  const out = new Array<number>(touches.length).fill(0);
  const last = lastAtOrBefore(touches, at);
  if (last < 0) return out;
  let w: number[];
  const leadTouch = m.leadAt === null ? last : Math.max(0, Math.min(last, lastAtOrBefore(touches, m.leadAt)));
  const oppTouch =
    m.opportunityAt === null || m.opportunityAt > at
      ? -1
      : Math.max(0, lastAtOrBefore(touches, m.opportunityAt));
  switch (model) {
    case "firstTouch":
      w = positional(0, [[0, 1]], 0);
      break;
    case "lastTouch":
      w = positional(last, [[last, 1]], 0);
      break;
    case "linear":
      w = new Array<number>(last + 1).fill(1 / (last + 1));
      break;
    case "wShaped":
      w =
        oppTouch >= 0
          ? positional(
              Math.max(oppTouch, leadTouch),
              [
                [0, 30],
                [leadTouch, 30],
                [oppTouch, 30],
              ],
              10,
            )
          : uShaped(leadTouch);
      break;
    case "uShaped":
      w = uShaped(leadTouch);
      break;
  }
  for (let i = 0; i < w.length; i++) out[i] = w[i] as number;
  return out;
}

/** The outcomes attribution credits (a lead created, its first MQL, SQL, opportunity, its win). */
export const OUTCOMES = ["lead", "mql", "sql", "opportunity", "won"] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** A touch with what the report can break credit down by. */
export interface CreditedTouch {
  startAt: number;
  channel: string;
  source: string | null;
  campaign: string | null;
}

/** One outcome's credit under every model to one channel, source and campaign (null channel: no touch). */
export interface OutcomeCredit {
  outcome: Outcome;
  at: number;
  channel: string | null;
  source: string | null;
  campaign: string | null;
  credits: Record<AttributionModel, number>;
}

const perModel = (x: number) =>
  Object.fromEntries(ATTRIBUTION_MODELS.map((k) => [k, x])) as Record<AttributionModel, number>;

/**
 * A lead's credits for each outcome it reached (`at`: when, null if not), touches with the same
 * channel, source and campaign summed. An outcome with no touch at or before it gets one row with
 * no channel and full credit under every model, so every model's credits for an outcome add up to 1.
 */
export function outcomeCredits(
  touches: readonly CreditedTouch[],
  at: Record<Outcome, number | null>,
): OutcomeCredit[] {
  const times = touches.map((t) => t.startAt);
  const m: Milestones = { leadAt: at.lead, opportunityAt: at.opportunity };
  const out: OutcomeCredit[] = [];
  for (const outcome of OUTCOMES) {
    const when = at[outcome];
    if (when === null) continue;
    const rows = new Map<string, OutcomeCredit>();
    for (const model of ATTRIBUTION_MODELS)
      credit(times, model, when, m).forEach((x, i) => {
        if (x === 0) return;
        const t = touches[i] as CreditedTouch;
        const key = JSON.stringify([t.channel, t.source, t.campaign]);
        let row = rows.get(key);
        if (!row) {
          row = {
            outcome,
            at: when,
            channel: t.channel,
            source: t.source,
            campaign: t.campaign,
            credits: perModel(0),
          };
          rows.set(key, row);
        }
        row.credits[model] += x;
      });
    if (rows.size === 0)
      out.push({ outcome, at: when, channel: null, source: null, campaign: null, credits: perModel(1) });
    else out.push(...rows.values());
  }
  return out;
}
