import { Random, weighted } from "./random.js";

/**
 * A seeded, plausible marketing history for benchmarks and demo data: profiles that arrive over
 * `days` (fewer at weekends), visit in sessions from a mix of channels, and move down the funnel
 * at rates and speeds like a B2B company's; MQLs handed to a sales team that accepts, rejects
 * (with reasons, some recycled and re-qualifying later), converts and wins. The same seed gives
 * the same history. Pure: it yields rows; `write-history.ts` stores them.
 *
 * Rough shape per profile: 1 + Poisson sessions (mean ~5, days apart), 1–4 events each (mean
 * ~2.5), so about 14 events a profile; 60 % subscribe, 85 % become leads (identified with a title and a
 * company), about 60 % of leads MQLs, 70 % of MQLs are accepted, and so on (`RATES`), so about 3
 * transitions a profile.
 *
 * **Ground truth** (for the model lab's tests): each profile has a latent `propensity` (standard
 * normal) and a `fit` (the sum of its title's, company size's, industry's and email's effects,
 * `TITLES`…). Behaviour is drawn from the propensity: more sessions, and more of them pricing
 * views, webinars attended and demo requests. Each step down the funnel from MQL on happens with
 * the odds of its base rate times `e^(BUY × (PROPENSITY × propensity + fit))`, so a lead's chance
 * of every outcome rises with `PROPENSITY × propensity + fit` (`oracleScore`): ranking by it is
 * the oracle no model can beat.
 */

export interface HistoryOptions {
  seed: number;
  profiles: number;
  /** Epoch ms of the first day. */
  start: number;
  days: number;
  /** Sales reps (users) to own handoffs, in `teams`. */
  reps: readonly { id: string; team: string }[];
}

export interface GenEvent {
  leadId: string;
  messageId: string;
  type: "page" | "track" | "identify";
  at: number;
  input: Record<string, unknown>;
}

export interface GenTransition {
  leadId: string;
  from: string;
  to: string;
  at: number;
  grade: string;
}

export interface GenHandoff {
  id: string;
  leadId: string;
  kind: "mql" | "re-mql";
  mqlAt: number;
  ownerId: string;
  team: string;
  dueAt: number;
  actedAt: number | null;
  breaches: number;
  status: "pending" | "accepted" | "converted" | "opportunity" | "won" | "lost" | "rejected";
  reason: string | null;
  disposition: "recycle" | "disqualify" | null;
  amount: number | null;
  closedAt: number | null;
}

export interface GenProfile {
  id: string;
  userId: string;
  email: string;
  /** Its traits (a lead's identify call gave the title and company). */
  traits: Record<string, unknown>;
  /** The latent propensity to buy (standard normal), which its behaviour is drawn from. */
  propensity: number;
  /** The effect of its traits on the log-odds of buying. */
  fit: number;
  firstSeenAt: number;
  lastEventAt: number;
  stage: string;
  grade: string;
  events: GenEvent[];
  transitions: GenTransition[];
  handoffs: GenHandoff[];
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** Channel mix of first sessions, and how each arrives (UTM, referrer). */
const CHANNELS = weighted<Record<string, unknown> | null>([
  [{ referrer: "https://www.google.com/search?q=lead+scoring" }, 30],
  [null, 18],
  [{ utm: { source: "google", medium: "cpc", name: "brand" } }, 9],
  [{ utm: { source: "google", medium: "cpc", name: "competitors" } }, 6],
  [{ utm: { source: "linkedin", medium: "paid-social", name: "abm-q3" } }, 8],
  [{ utm: { source: "newsletter", medium: "email", name: "monthly" } }, 8],
  [{ referrer: "https://www.g2.com/products/qualify" }, 6],
  [{ referrer: "https://t.co/x1" }, 3],
  [{ referrer: "https://www.linkedin.com/feed/" }, 4],
  [{ utm: { source: "events", medium: "webinar", name: "scoring-101" } }, 4],
  [{ referrer: "https://duckduckgo.com/" }, 4],
]);
const PAGES = ["/", "/product", "/pricing", "/blog/mql-definition", "/customers", "/docs"];
/** The track events of a session, with weights; those showing intent weigh more with the propensity. */
const tracksFor = (intent: number) =>
  weighted<string>([
    ["Asset Downloaded", 4],
    ["Webinar Registered", 2],
    ["Webinar Attended", intent],
    ["Email Clicked", 3],
    ["Pricing Viewed", 2 * intent],
    ["Demo Requested", 0.5 * intent],
  ]);
const ASSETS = ["ebook", "whitepaper", "case-study"];
/** A track event's properties, as the tracking plan (docs/tracking-plan.md) has them. */
function propertiesOf(event: string, rng: Random): Record<string, unknown> | undefined {
  if (event === "Asset Downloaded") return { type: rng.pick(ASSETS), title: "The MQL playbook" };
  if (event.startsWith("Webinar")) return { webinar: "scoring-101" };
  if (event === "Email Clicked") return { campaign: "monthly" };
  return undefined;
}
/** Fit: titles, company sizes (employees) and industries, each with its effect on the log-odds of buying. */
const TITLES = weighted<readonly [string, number]>([
  [["CEO", 0.9], 1],
  [["VP of Marketing", 0.9], 2],
  [["Director of Demand Generation", 0.6], 3],
  [["Head of Growth", 0.6], 2],
  [["Marketing Operations Manager", 0.2], 5],
  [["Sales Development Manager", 0.2], 3],
  [["Marketing Specialist", -0.3], 5],
  [["Software Engineer", -0.6], 3],
  [["Student", -1.5], 1],
]);
const SIZES = weighted<readonly [number, number]>([
  [[4, -0.8], 2],
  [[25, -0.3], 3],
  [[120, 0.2], 3],
  [[450, 0.5], 2],
  [[2500, 0.4], 1],
]);
const INDUSTRIES = weighted<readonly [string, number]>([
  [["software", 0.5], 4],
  [["financial services", 0.3], 2],
  [["healthcare", 0.2], 1],
  [["manufacturing", -0.1], 2],
  [["retail", -0.2], 2],
  [["education", -0.5], 1],
  [["government", -0.6], 1],
]);
const FREE_MAIL = -0.4;
/** How strongly the propensity and fit move the odds of each step from MQL on. */
const BUY = 0.6;
const PROPENSITY = 0.7;
const REASONS = weighted<[string, "recycle" | "disqualify"]>([
  [["no budget", "recycle"], 4],
  [["bad timing", "recycle"], 3],
  [["not a buyer", "disqualify"], 2],
  [["competitor", "disqualify"], 1],
]);
/** The grade of a fit effect. */
const gradeOf = (fit: number) => (fit >= 0.8 ? "A" : fit >= 0.2 ? "B" : fit >= -0.4 ? "C" : "D");

/** Funnel rates and how long each step takes (mean, exponential). */
const RATES = {
  subscriber: 0.6,
  lead: 0.85,
  mql: 0.6,
  accepted: 0.7,
  reMql: 0.55,
  sql: 0.6,
  opportunity: 0.6,
  won: 0.35,
};
const WAIT = {
  session: 2 * DAY,
  mql: 9 * DAY,
  act: 5 * HOUR,
  sql: 6 * DAY,
  opportunity: 8 * DAY,
  close: 30 * DAY,
  reMql: 45 * DAY,
};

/** What a lead's chances of every outcome rise with: the oracle's ranking. */
export const oracleScore = (p: Pick<GenProfile, "propensity" | "fit">) => PROPENSITY * p.propensity + p.fit;

/** A handoff as it stood at `end`: what sales did later has not happened yet. */
function asOfEnd(h: GenHandoff, steps: [GenHandoff["status"], number][], end: number): GenHandoff {
  const done = steps.filter(([, at]) => at <= end);
  const status = done[done.length - 1]?.[0] ?? "pending";
  if (status === h.status) return h;
  const pending = status === "pending";
  return {
    ...h,
    status,
    actedAt: pending ? null : h.actedAt,
    breaches: pending ? (h.dueAt <= end ? 1 : 0) : h.breaches,
    amount: status === "opportunity" ? h.amount : null,
    closedAt: null,
  };
}

export function* generateHistory(o: HistoryOptions): Generator<GenProfile> {
  const rng = new Random(o.seed);
  let rr = 0;
  for (let p = 0; p < o.profiles; p++) {
    // Arrival: uniform over the days, fewer at weekends.
    let first: number;
    do first = o.start + Math.floor(rng.next() * o.days * DAY);
    while ([0, 6].includes(new Date(first).getUTCDay()) && rng.chance(0.6));
    const id = `g${p.toString(36)}`;
    const userId = `gen-${p}`;
    const company = `co${rng.int(Math.max(1, o.profiles / 4))}`;
    const freeMail = rng.chance(0.3);
    const email = `${userId}@${freeMail ? "gmail.com" : `${company}.example`}`;
    const [title, titleFit] = TITLES(rng);
    const [size, sizeFit] = SIZES(rng);
    const [industry, industryFit] = INDUSTRIES(rng);
    const fit = titleFit + sizeFit + industryFit + (freeMail ? FREE_MAIL : 0);
    const propensity = rng.normal();
    const buys = (rate: number) =>
      rng.chance(1 / (1 + ((1 - rate) / rate) * Math.exp(-BUY * (PROPENSITY * propensity + fit))));
    const tracks = tracksFor(Math.exp(1.2 * propensity));
    const traits = {
      email,
      title,
      company: {
        name: `${company} Inc`,
        employee_count: Math.round(size * (0.6 + 0.8 * rng.next())),
        industry,
      },
    };
    const events: GenEvent[] = [];
    const transitions: GenTransition[] = [];
    const handoffs: GenHandoff[] = [];
    let n = 0;
    const ev = (type: GenEvent["type"], at: number, input: Record<string, unknown>) => {
      const messageId = `${id}-${n++}`;
      // As ingest stores it: the engine's input, with the message id as its id.
      events.push({
        leadId: id,
        messageId,
        type,
        at,
        input: { kind: "event", id: messageId, type, at, ...input },
      });
    };
    const grade = gradeOf(fit);
    let stage = "visitor";
    const move = (to: string, at: number) => {
      transitions.push({ leadId: id, from: stage, to, at, grade });
      stage = to;
    };

    // Sessions: the first from the channel mix, later ones mostly direct or email.
    const sessions = 1 + Math.min(14, rng.poisson(2.5 * Math.exp(propensity)));
    let t = first;
    for (let s = 0; s < sessions; s++) {
      const via = s === 0 ? CHANNELS(rng) : rng.chance(0.3) ? CHANNELS(rng) : null;
      const url = new URL(`https://acme.example${rng.pick(PAGES)}`);
      const utm = via?.utm as Record<string, string> | undefined;
      if (utm)
        for (const [k, v] of Object.entries(utm))
          url.searchParams.set(`utm_${k === "name" ? "campaign" : k}`, v);
      ev("page", t, {
        name: "Page",
        properties: { path: url.pathname, url: url.href },
        context: { page: { url: url.href, ...(via?.referrer ? { referrer: via.referrer } : {}) } },
      });
      const more = rng.int(4);
      for (let e = 0; e < more; e++) {
        t += Math.floor(rng.exponential(4 * MIN)) + 1000;
        if (rng.chance(0.3)) {
          const path = rng.pick(PAGES);
          const href = `https://acme.example${path}`;
          ev("page", t, { name: "Page", properties: { path, url: href }, context: { page: { url: href } } });
        } else {
          const event = tracks(rng);
          const properties = propertiesOf(event, rng);
          ev("track", t, { event, ...(properties ? { properties } : {}) });
        }
      }
      if (s === 0 && rng.chance(RATES.subscriber)) {
        t += MIN;
        ev("track", t, { event: "Newsletter Subscribed" });
        move("subscriber", t);
      }
      if (s === 0 && rng.chance(RATES.lead)) {
        t += MIN;
        ev("identify", t, { traits });
        ev("track", t + 1000, { event: "Form Submitted" });
        move("lead", t + 1000);
      }
      t += Math.floor(rng.exponential(WAIT.session)) + 31 * MIN;
    }
    // Down the funnel, with handoffs.
    let at = transitions[0]?.at ?? first;
    let mqls = 0;
    // Each handoff's statuses with their times, to show it as it stood at the history's end.
    const steps = new Map<GenHandoff, [GenHandoff["status"], number][]>();
    while (stage === "lead" || stage === "recycled") {
      if (!buys(mqls === 0 ? RATES.mql : RATES.reMql)) break;
      at += Math.floor(rng.exponential(mqls === 0 ? WAIT.mql : WAIT.reMql)) + HOUR;
      move("mql", at);
      const rep = o.reps[rr++ % o.reps.length] as { id: string; team: string };
      const acted = at + Math.floor(rng.exponential(WAIT.act));
      const due = at + 4 * HOUR;
      const h: GenHandoff = {
        id: `${id}-h${mqls}`,
        leadId: id,
        kind: mqls === 0 ? "mql" : "re-mql",
        mqlAt: at,
        ownerId: rep.id,
        team: rep.team,
        dueAt: due,
        actedAt: acted,
        breaches: acted > due ? 1 : 0,
        status: "accepted",
        reason: null,
        disposition: null,
        amount: null,
        closedAt: null,
      };
      handoffs.push(h);
      steps.set(h, [["accepted", acted]]);
      mqls++;
      if (!buys(RATES.accepted)) {
        const [reason, disposition] = REASONS(rng);
        Object.assign(h, { status: "rejected", reason, disposition, closedAt: acted });
        steps.set(h, [["rejected", acted]]);
        move(disposition === "recycle" ? "recycled" : "disqualified", acted);
        at = acted;
        continue;
      }
      move("sal", acted);
      at = acted;
      if (!buys(RATES.sql)) break;
      at += Math.floor(rng.exponential(WAIT.sql)) + HOUR;
      move("sql", at);
      h.status = "converted";
      steps.get(h)?.push(["converted", at]);
      if (!buys(RATES.opportunity)) break;
      at += Math.floor(rng.exponential(WAIT.opportunity)) + HOUR;
      move("opportunity", at);
      h.status = "opportunity";
      steps.get(h)?.push(["opportunity", at]);
      h.amount = Math.round(5_000 + rng.exponential(40_000));
      at += Math.floor(rng.exponential(WAIT.close)) + DAY;
      h.closedAt = at;
      h.status = buys(RATES.won) ? "won" : "lost";
      if (h.status === "won") move("customer", at);
      steps.get(h)?.push([h.status, at]);
      break;
    }
    // Nothing after the history's end: what would come later has not happened yet.
    const end = o.start + o.days * DAY;
    const kept = transitions.filter((x) => x.at <= end);
    const happened = events.filter((e) => e.at <= end).sort((a, b) => a.at - b.at);
    yield {
      id,
      userId,
      email,
      traits: happened.some((e) => e.type === "identify") ? traits : { email },
      propensity,
      fit,
      firstSeenAt: first,
      lastEventAt: (happened[happened.length - 1] ?? { at: first }).at,
      stage: kept[kept.length - 1]?.to ?? "visitor",
      grade,
      events: happened,
      transitions: kept,
      handoffs: handoffs.filter((h) => h.mqlAt <= end).map((h) => asOfEnd(h, steps.get(h) ?? [], end)),
    };
  }
}
