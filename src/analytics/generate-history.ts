import { Random, weighted } from "./random.js";

/**
 * A seeded, plausible marketing history for benchmarks and demo data: profiles that arrive over
 * `days` (fewer at weekends), visit in sessions from a mix of channels, and move down the funnel
 * at rates and speeds like a B2B company's; MQLs handed to a sales team that accepts, rejects
 * (with reasons, some recycled and re-qualifying later), converts and wins. The same seed gives
 * the same history. Pure: it yields rows; `write-history.ts` stores them.
 *
 * Rough shape per profile: 1 + Poisson-ish sessions (mean ~3), 1–6 events each (mean ~3.4), so
 * about 10 events a profile; 60 % subscribe, 85 % become leads, 60 % of leads MQLs, 70 % of MQLs are
 * accepted, and so on (`RATES`), so about 3 transitions a profile.
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
const TRACKS = weighted<string>([
  ["Asset Downloaded", 4],
  ["Webinar Registered", 2],
  ["Webinar Attended", 1],
  ["Email Clicked", 3],
  ["Pricing Viewed", 2],
  ["Demo Requested", 1],
]);
const REASONS = weighted<[string, "recycle" | "disqualify"]>([
  [["no budget", "recycle"], 4],
  [["bad timing", "recycle"], 3],
  [["not a buyer", "disqualify"], 2],
  [["competitor", "disqualify"], 1],
]);
const GRADES = weighted<string>([
  ["A", 2],
  ["B", 3],
  ["C", 3],
  ["D", 2],
]);

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
  mql: 9 * DAY,
  act: 5 * HOUR,
  sql: 6 * DAY,
  opportunity: 8 * DAY,
  close: 30 * DAY,
  reMql: 45 * DAY,
};

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
    const email = `${userId}@${rng.chance(0.3) ? "gmail.com" : `co${rng.int(Math.max(1, o.profiles / 4))}.example`}`;
    const events: GenEvent[] = [];
    const transitions: GenTransition[] = [];
    const handoffs: GenHandoff[] = [];
    let n = 0;
    const ev = (type: GenEvent["type"], at: number, input: Record<string, unknown>) =>
      events.push({
        leadId: id,
        messageId: `${id}-${n++}`,
        type,
        at,
        input: { kind: "event", type, at, ...input },
      });
    const grade = GRADES(rng);
    let stage = "visitor";
    const move = (to: string, at: number) => {
      transitions.push({ leadId: id, from: stage, to, at, grade });
      stage = to;
    };

    // Sessions: the first from the channel mix, later ones mostly direct or email.
    const sessions = 1 + Math.min(12, Math.floor(rng.exponential(2)));
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
        context: { page: { url: url.href, ...(via?.referrer ? { referrer: via.referrer } : {}) } },
      });
      const more = rng.int(6);
      for (let e = 0; e < more; e++) {
        t += Math.floor(rng.exponential(4 * MIN)) + 1000;
        if (rng.chance(0.3))
          ev("page", t, {
            name: "Page",
            context: { page: { url: `https://acme.example${rng.pick(PAGES)}` } },
          });
        else ev("track", t, { event: TRACKS(rng) });
      }
      if (s === 0 && rng.chance(RATES.subscriber)) {
        t += MIN;
        ev("track", t, { event: "Newsletter Subscribed" });
        move("subscriber", t);
      }
      if (s === 0 && rng.chance(RATES.lead)) {
        t += MIN;
        ev("identify", t, { traits: { email } });
        ev("track", t + 1000, { event: "Form Submitted" });
        move("lead", t + 1000);
      }
      t += Math.floor(rng.exponential(WAIT.mql / 2)) + 31 * MIN;
    }
    // Down the funnel, with handoffs.
    let at = transitions[0]?.at ?? first;
    let mqls = 0;
    while (stage === "lead" || stage === "recycled") {
      if (!rng.chance(mqls === 0 ? RATES.mql : RATES.reMql)) break;
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
      mqls++;
      if (!rng.chance(RATES.accepted)) {
        const [reason, disposition] = REASONS(rng);
        Object.assign(h, { status: "rejected", reason, disposition, closedAt: acted });
        move(disposition === "recycle" ? "recycled" : "disqualified", acted);
        at = acted;
        continue;
      }
      move("sal", acted);
      at = acted;
      if (!rng.chance(RATES.sql)) break;
      at += Math.floor(rng.exponential(WAIT.sql)) + HOUR;
      move("sql", at);
      h.status = "converted";
      if (!rng.chance(RATES.opportunity)) break;
      at += Math.floor(rng.exponential(WAIT.opportunity)) + HOUR;
      move("opportunity", at);
      h.status = "opportunity";
      h.amount = Math.round(5_000 + rng.exponential(40_000));
      at += Math.floor(rng.exponential(WAIT.close)) + DAY;
      h.closedAt = at;
      if (rng.chance(RATES.won)) {
        move("customer", at);
        h.status = "won";
      } else h.status = "lost";
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
      firstSeenAt: first,
      lastEventAt: (happened[happened.length - 1] ?? { at: first }).at,
      stage: kept[kept.length - 1]?.to ?? "visitor",
      grade,
      events: happened,
      transitions: kept,
      handoffs: handoffs.filter((h) => h.mqlAt <= end),
    };
  }
}
