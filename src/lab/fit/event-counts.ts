import { parse, stringify } from "yaml";
import type { Queryable } from "../../db/database.js";
import { newLeadState, parseModel, replay, summarize } from "../../engine/index.js";
import { readsContext, streamLeads } from "../../pipeline/rescore-stream.js";
import type { CountFeature } from "./dataset.js";

/**
 * Event-count features (docs/model-lab.md): for each matcher and lookback window, a lead's
 * matching events within the window before its cutoff. The engine itself counts them, under each
 * cap in `CAPS`: a feature model has one rule per (matcher, window, cap) giving 1 point per event
 * with `decay: { lookback: window }` and `cap: { points: cap, window }`, each in a group of its
 * own, and a lead's count is that group's score at its cutoff. So the rule the fit writes (its
 * points per event, the same cap and lookback) gives exactly the points the fit learnt.
 *
 * Matchers: each engagement rule of the active model, each track event that at least `MIN_LEADS`
 * leads sent (the `MAX_EVENT_NAMES` most common), and every page view.
 */

export const DEFAULT_WINDOWS = ["7d", "30d", "90d"] as const;
/** Most events that earn points within the window; null: no cap. */
export const CAPS: readonly (number | null)[] = [1, 3, 10, null];
const MIN_LEADS = 20;
const MAX_EVENT_NAMES = 30;

interface Matcher {
  /** The start of its features' names (and of the fitted rules' ids). */
  id: string;
  /** Where it came from, for the rule's description. */
  source: string;
  match: unknown;
}

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "-")
    .replace(/^-|-$/g, "");

/** `Demo Requested` and `{ event: Demo Requested }` are the same matcher: both as objects with a type. */
const normalise = (m: unknown): Record<string, unknown> =>
  typeof m === "string" ? { type: "track", event: m } : { type: "track", ...(m as Record<string, unknown>) };

async function matchers(q: Queryable, ws: string): Promise<Matcher[]> {
  const active = await q.query<{ source: string }>(
    "select source from models where workspace_id = $1 and active",
    [ws],
  );
  const rules = ((parse(active[0]?.source ?? "{}") as { rules?: { id: string; match: unknown }[] } | null)
    ?.rules ?? []) as { id: string; match: unknown }[];
  const names = await q.query<{ name: string }>(
    `select input->>'event' as name from events
     where workspace_id = $1 and kind = 'event' and type = 'track' and processed and input->>'event' is not null
     group by 1 having count(distinct lead_id) >= $2
     order by count(distinct lead_id) desc, 1 limit $3`,
    [ws, MIN_LEADS, MAX_EVENT_NAMES],
  );
  const all: Matcher[] = [
    ...rules.map((r) => ({ id: slug(r.id), source: `rule ${r.id} of the active model`, match: r.match })),
    ...names.map((n) => ({ id: `event-${slug(n.name)}`, source: `'${n.name}' events`, match: n.name })),
    { id: "page-views", source: "page views", match: { type: "page" } },
  ];
  const seen = new Set<string>();
  const ids = new Set<string>();
  return all.flatMap((m) => {
    const key = JSON.stringify(normalise(m.match));
    if (seen.has(key)) return [];
    seen.add(key);
    // Two names with the same slug (`Demo Requested`, `demo-requested`) still make two rule ids.
    let id = m.id;
    for (let n = 2; ids.has(id); n++) id = `${m.id}-${n}`;
    ids.add(id);
    return [{ ...m, id }];
  });
}

/**
 * The count features of the leads in `index` (lead id → row), each as of its cutoff. A feature no
 * lead has an event of is left out.
 */
export async function countFeatures(
  q: Queryable,
  ws: string,
  index: ReadonlyMap<string, number>,
  cutoffs: readonly number[],
  windows: readonly string[],
): Promise<CountFeature[]> {
  const terms = (await matchers(q, ws)).flatMap((m) =>
    windows.map((window) => ({
      name: `${m.id}-${window}`,
      term: { source: m.source, match: m.match, window },
    })),
  );
  if (terms.length === 0) return [];
  const groups: Record<string, object> = {};
  const rules = terms.flatMap((t, i) =>
    CAPS.map((cap, c) => {
      const group = `g${i}-${c}`;
      groups[group] = {};
      return {
        id: group,
        group,
        match: t.term.match,
        points: 1,
        ...(cap === null ? {} : { cap: { points: cap, window: t.term.window } }),
        decay: { lookback: t.term.window },
      };
    }),
  );
  const model = parseModel(
    stringify({
      name: "lab-counts",
      version: 1,
      groups,
      rules,
      // Never qualifies: only the scores are read.
      qualification: { mql: { all: [{ stage: ["customer"] }, { not: { stage: ["customer"] } }] } },
    }),
    "the lab's count features",
  );
  const values = terms.map(() => CAPS.map(() => new Float64Array(cutoffs.length)));
  for await (const batch of streamLeads(q, ws, { context: readsContext(model.spec) })) {
    for (const lead of batch) {
      const row = index.get(lead.id);
      if (row === undefined) continue;
      const cutoff = cutoffs[row] as number;
      const st = replay(
        model,
        newLeadState(model),
        [],
        lead.inputs.filter((i) => i.at <= cutoff),
        cutoff,
      ).state;
      const scores = summarize(model, st, cutoff).scores;
      values.forEach((perCap, i) => {
        perCap.forEach((col, c) => {
          col[row] = scores[`g${i}-${c}`] ?? 0;
        });
      });
    }
  }
  return terms.flatMap((t, i) => {
    const perCap = values[i] as Float64Array[];
    if (!(perCap[CAPS.length - 1] as Float64Array).some((v) => v !== 0)) return [];
    return [{ name: t.name, kind: "count" as const, term: t.term, caps: [...CAPS], values: perCap }];
  });
}
