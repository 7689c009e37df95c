import { createHash } from "node:crypto";
import type { Queryable } from "../../db/database.js";
import type { OutcomeKind } from "../import/lead-mapping.js";
import { OUTCOME_SQL, outcomeParams } from "../outcome-times.js";
import type { Dataset, Feature } from "./dataset.js";
import { countFeatures } from "./event-counts.js";

/**
 * The labelled table a fit learns from, read from stored history (docs/model-lab.md):
 *
 * - **Leads**: every known person (a userId or an email), not merged away, in userId order (so the
 *   folds are the same for the same data however it was imported).
 * - **Label**: the lead reached the outcome (`outcome-times.ts`).
 * - **Cutoff** (the leakage guard): features are what was known at a cutoff per lead. For a
 *   converter, the outcome's time minus `gapMs`, but not before the lead was first seen; for the
 *   others, a matched snapshot: the lead's first-seen time plus an age drawn (seeded by the lead's
 *   id) from the converters' ages at their cutoffs, but not after the history's last event. (Not
 *   its own last event: that would see the others just as they were active, and recent activity
 *   would tell them apart from the converters.)
 * - **Features**: the lead's traits as of its cutoff (identify calls folded in time order, as the
 *   pipeline does), nested objects as dotted names (`counts.visits`). All-numeric traits are
 *   numbers; the rest categories. `email_domain` is derived from `email`, as the engine does.
 *   Contact details and id-like traits (text with a distinct value for most leads) are left out.
 *   And its event counts per matcher within each of `windows` before its cutoff
 *   (`event-counts.ts`). Names in `exclude` (`*` matches any run of characters) are left out.
 */

export interface LabDatasetOptions {
  outcome: OutcomeKind;
  exclude: readonly string[];
  gapMs: number;
  /** Lookback windows of the event counts (`7d`, `30d`…). */
  windows: readonly string[];
}

const CONTACT = [
  "email",
  "name",
  "first_name",
  "firstName",
  "last_name",
  "lastName",
  "phone",
  "id",
  "userId",
];
const PAGE = 5_000;

export interface LabDataset extends Dataset {
  leadIds: string[];
  cutoffs: number[];
  /** Traits left out as id-like or contact details (besides those excluded by name). */
  skipped: string[];
}

interface LeadRow {
  id: string;
  first_seen_at: number | string;
  last_event_at: number | string | null;
  outcome_at: number | string | null;
}

export async function loadLabDataset(q: Queryable, ws: string, o: LabDatasetOptions): Promise<LabDataset> {
  const leads = await q.query<LeadRow>(
    `select l.id, l.first_seen_at, l.last_event_at, o.at as outcome_at
     from leads l
     left join (${OUTCOME_SQL}) o on o.lead_id = l.id
     where l.workspace_id = $1 and l.merged_into is null and (l.user_id is not null or l.email is not null)
     order by coalesce(l.user_id, l.email), l.id`,
    outcomeParams(ws, o.outcome),
  );
  const cutoffs = chooseCutoffs(leads, o.gapMs);
  const traits: Record<string, unknown>[] = [];
  for (let start = 0; start < leads.length; start += PAGE) {
    const page = leads.slice(start, start + PAGE);
    const rows = await q.query<{
      lead_id: string;
      at: number | string;
      traits: Record<string, unknown> | null;
    }>(
      `select lead_id, at, input->'traits' as traits from events
       where workspace_id = $1 and lead_id = any($2::text[]) and kind = 'event' and type = 'identify'
       order by lead_id, at, message_id`,
      [ws, page.map((l) => l.id)],
    );
    const cutoffOf = new Map(page.map((l, i) => [l.id, cutoffs[start + i] as number]));
    const byLead = new Map<string, Record<string, unknown>>();
    for (const r of rows) {
      if (Number(r.at) > (cutoffOf.get(r.lead_id) as number) || !r.traits) continue;
      byLead.set(r.lead_id, { ...byLead.get(r.lead_id), ...r.traits });
    }
    for (const l of page) traits.push(withEmailDomain(flatten(byLead.get(l.id) ?? {})));
  }
  const excluded = o.exclude.map(glob);
  const { features, skipped } = toFeatures(traits, excluded);
  const index = new Map(leads.map((l, i) => [l.id, i]));
  const counts = (await countFeatures(q, ws, index, cutoffs, o.windows)).filter(
    (f) => !excluded.some((p) => p.test(f.name)),
  );
  return {
    features: [...features, ...counts],
    labels: Uint8Array.from(leads, (l) => (l.outcome_at === null ? 0 : 1)),
    leadIds: leads.map((l) => l.id),
    cutoffs,
    skipped,
  };
}

/** `email_domain` from `email`, lower-cased, as the engine derives it (a free-mail domain is a fit signal). */
function withEmailDomain(t: Record<string, unknown>): Record<string, unknown> {
  const email = t.email;
  if (typeof email === "string" && email.includes("@"))
    t.email_domain = (email.split("@").pop() as string).toLowerCase();
  return t;
}

/** Each lead's cutoff (see above). */
function chooseCutoffs(leads: readonly LeadRow[], gapMs: number): number[] {
  const end = leads.reduce(
    (m, l) => Math.max(m, Number(l.last_event_at ?? l.first_seen_at), Number(l.outcome_at ?? 0)),
    0,
  );
  const ages: number[] = [];
  const cut = leads.map((l) => {
    if (l.outcome_at === null) return null;
    const c = Math.max(Number(l.outcome_at) - gapMs, Number(l.first_seen_at));
    ages.push(c - Number(l.first_seen_at));
    return c;
  });
  return leads.map((l, i) => {
    const c = cut[i];
    if (c !== null && c !== undefined) return c;
    if (ages.length === 0) return end;
    const draw = createHash("sha256").update(l.id).digest().readUInt32BE(0) % ages.length;
    return Math.min(Number(l.first_seen_at) + (ages[draw] as number), end);
  });
}

/** `{counts: {visits: 3}}` → `{"counts.visits": 3}`; lists become their text. */
export function flatten(
  obj: Record<string, unknown>,
  prefix = "",
  out: Record<string, unknown> = {},
): Record<string, unknown> {
  for (const [k, v] of Object.entries(obj)) {
    if (v === null || v === undefined || v === "") continue;
    if (typeof v === "object" && !Array.isArray(v))
      flatten(v as Record<string, unknown>, `${prefix}${k}.`, out);
    else out[prefix + k] = Array.isArray(v) ? v.join(",") : v;
  }
  return out;
}

const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split("*")
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
    "i",
  );

function toFeatures(
  rows: readonly Record<string, unknown>[],
  patterns: readonly RegExp[],
): { features: Feature[]; skipped: string[] } {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))].sort();
  const features: Feature[] = [];
  const skipped: string[] = [];
  for (const name of names) {
    if (patterns.some((p) => p.test(name))) continue;
    const values = rows.map((r) => r[name]);
    const present = values.filter((v) => v !== undefined);
    const numeric = present.every(
      (v) =>
        typeof v === "number" || (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))),
    );
    const distinct = new Set(present.map(String)).size;
    if (CONTACT.includes(name) || (!numeric && distinct > 0.5 * rows.length && distinct > 50)) {
      skipped.push(name);
      continue;
    }
    features.push(
      numeric
        ? { name, kind: "numeric", values: values.map((v) => (v === undefined ? null : Number(v))) }
        : { name, kind: "categorical", values: values.map((v) => (v === undefined ? null : String(v))) },
    );
  }
  return { features, skipped };
}
