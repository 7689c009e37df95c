import { Random, weighted } from "../src/analytics/random.js";
import {
  compareInputs,
  type EventInput,
  type EventType,
  type Fact,
  type FactInput,
  type Input,
} from "../src/engine/index.js";
import { makeEvent } from "../src/engine/make-event.js";

/**
 * A deterministic B2B event stream for the default model: anonymous page views, identify and group
 * calls, content, webinar and email engagement, rare hand-raisers, and a few sales stage facts.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export interface DatasetOptions {
  seed: number;
  leads: number;
  /** Segment calls in all; stage facts come on top. */
  events: number;
  days: number;
  start: number;
}

export interface Dataset {
  /** Each lead's inputs, in (at, id) order. */
  leads: Input[][];
  events: number;
  facts: number;
  start: number;
  end: number;
}

interface Account {
  id: string;
  domain: string;
  traits: { name: string; employees: number; industry: string; plan: string };
}

const FREE_MAIL = ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "proton.me"];
const COMPETITORS = ["competitor.example", "rival.example"];
const FIRST_NAMES = ["alex", "sam", "jordan", "morgan", "taylor", "casey", "robin", "jamie", "kim", "lee"];
const LAST_NAMES = ["smith", "jones", "garcia", "chen", "patel", "muller", "rossi", "novak", "silva", "kato"];
const INDUSTRIES = [
  "Software",
  "SaaS",
  "technology",
  "Financial Services",
  "fintech",
  "Healthcare",
  "Retail",
  "Manufacturing",
  "Education",
  "Government",
  "Media",
  "Logistics",
];

const title = weighted([
  ["CEO", 2],
  ["Founder", 2],
  ["VP of Marketing", 3],
  ["Vice President, Sales", 2],
  ["CTO", 1],
  ["Director of Marketing", 5],
  ["Head of Growth", 3],
  ["Marketing Manager", 10],
  ["Product Manager", 6],
  ["Software Engineer", 12],
  ["Marketing Specialist", 10],
  ["Analyst", 8],
  ["Consultant", 5],
  ["Student", 1],
] as const);

const pagePath = weighted([
  ["/", 20],
  ["/blog", 35],
  ["/pricing", 12],
  ["/pricing/enterprise", 4],
  ["/careers", 3],
  ["/product", 10],
  ["/customers", 6],
  ["/docs", 10],
] as const);

type Activity =
  | "page"
  | "identify"
  | "Asset Downloaded"
  | "Newsletter Subscribed"
  | "Webinar Registered"
  | "Webinar Attended"
  | "Email Opened"
  | "Email Clicked"
  | "Form Submitted"
  | "Unsubscribed"
  | "Demo Requested"
  | "Contact Sales Requested";

const knownActivity = weighted<Activity>([
  ["page", 36],
  ["Email Opened", 24],
  ["Email Clicked", 7],
  ["Asset Downloaded", 8],
  ["Newsletter Subscribed", 2.5],
  ["Webinar Registered", 4],
  ["Webinar Attended", 2.5],
  ["Form Submitted", 4],
  ["Unsubscribed", 1],
  ["identify", 3],
  ["Demo Requested", 0.25],
  ["Contact Sales Requested", 0.15],
]);

const anonymousActivity = weighted<Activity>([
  ["page", 92],
  ["Asset Downloaded", 5],
  ["Webinar Registered", 3],
]);

const assetType = weighted([
  ["ebook", 45],
  ["whitepaper", 30],
  ["case-study", 25],
] as const);

export function generateDataset(o: DatasetOptions): Dataset {
  const rng = new Random(o.seed);
  const end = o.start + o.days * DAY;
  const accounts = Array.from({ length: Math.ceil(o.leads / 4) }, (_, i) => makeAccount(rng, i));
  const counts = eventCounts(rng, o.leads, o.events);
  const ids = { next: 0 };
  let facts = 0;
  const leads = counts.map((n, lead) => {
    const inputs = generateLead(rng, lead, n, rng.pick(accounts), o.start, end, ids);
    facts += inputs.length - n;
    return inputs.map(asIngested).sort(compareInputs);
  });
  return { leads, events: o.events, facts, start: o.start, end };
}

/**
 * The input as the service would hold it: every string comes out of JSON.parse, as ingest's do
 * (strings built here by concatenation are slower to compare), and events have `makeEvent`'s shape.
 */
function asIngested(input: Input): Input {
  const json = JSON.parse(JSON.stringify(input)) as Input;
  if (json.kind !== "event") return json;
  const e = makeEvent(json.id, json.at, json.type);
  e.event = json.event;
  e.name = json.name;
  e.properties = json.properties;
  e.traits = json.traits;
  e.context = json.context;
  e.groupId = json.groupId;
  return e;
}

function makeAccount(rng: Random, i: number): Account {
  const name = `Company ${i}`;
  return {
    id: `acct-${i}`,
    domain: `company${i}.com`,
    traits: {
      name,
      // Log-uniform from about 3 to 20,000 people.
      employees: Math.round(Math.exp(1 + rng.next() * 8.9)),
      industry: rng.pick(INDUSTRIES).toLowerCase(),
      plan: rng.pick(["free", "trial", "paid"]),
    },
  };
}

/** Events per lead: mostly a handful, a long tail of busy leads, adding up to exactly `total`. */
function eventCounts(rng: Random, leads: number, total: number): number[] {
  const mean = total / leads;
  const counts = Array.from({ length: leads }, () =>
    Math.max(1, Math.round(rng.exponential(rng.chance(0.005) ? mean * 6 : mean * 0.95))),
  );
  let diff = total - counts.reduce((a, b) => a + b, 0);
  while (diff !== 0) {
    const i = rng.int(leads);
    const n = counts[i] as number;
    if (diff > 0) {
      counts[i] = n + 1;
      diff--;
    } else if (n > 1) {
      counts[i] = n - 1;
      diff++;
    }
  }
  return counts;
}

/** Times clustered into sessions of a few minutes, spread over the lead's active period. */
function sessionTimes(rng: Random, n: number, from: number, to: number): number[] {
  const times: number[] = [];
  let session = from;
  for (let k = 0; k < n; k++) {
    if (k === 0 || rng.chance(0.4)) session = from + rng.next() * (to - from);
    times.push(Math.min(to, Math.floor(session + rng.next() * 20 * MINUTE)));
  }
  return times.sort((a, b) => a - b);
}

/** A UUID-shaped message id; the counter in the last part keeps ids unique. */
function messageId(rng: Random, ids: { next: number }): string {
  const n = ids.next++;
  return `${rng.hex(8)}-${rng.hex(4)}-4${rng.hex(3)}-${rng.pick(["8", "9", "a", "b"])}${rng.hex(3)}-${n.toString(16).padStart(12, "0")}`;
}

function generateLead(
  rng: Random,
  lead: number,
  n: number,
  account: Account,
  start: number,
  end: number,
  ids: { next: number },
): Input[] {
  const first = rng.pick(FIRST_NAMES);
  const last = rng.pick(LAST_NAMES);
  const domain = rng.chance(0.003)
    ? rng.pick(COMPETITORS)
    : rng.chance(0.18)
      ? rng.pick(FREE_MAIL)
      : account.domain;
  const email = `${first}.${last}${lead}@${domain}`;
  const company = rng.chance(0.7)
    ? {
        name: account.traits.name,
        employee_count: account.traits.employees,
        industry: account.traits.industry,
      }
    : undefined;

  const t0 = start + rng.next() * (end - start) * 0.9;
  const t1 = Math.min(end - 1, t0 + DAY + rng.exponential(30 * DAY));
  const times = sessionTimes(rng, n, Math.floor(t0), Math.floor(t1));
  const at = (k: number) => times[k] as number;

  const identified = rng.chance(0.8);
  const identifyAt = identified ? Math.min(n - 1, rng.int(3)) : -1;
  const groupAt = identified && rng.chance(0.6) && identifyAt + 1 < n ? identifyAt + 1 : -1;
  // Some busy leads raise a hand; sales accepts, then recycles some of them.
  const handRaiseAt = identified && n >= 8 && rng.chance(0.05) ? Math.floor(n / 2) : -1;

  // Built as the ingest builds them (`makeEvent`), so that inputs share one shape as in the service.
  const base = (k: number, type: EventType): EventInput => makeEvent(messageId(rng, ids), at(k), type);
  const track = (k: number, event: string, properties: Record<string, unknown>): EventInput => {
    const e = base(k, "track");
    e.event = event;
    e.properties = properties;
    return e;
  };

  const inputs: Input[] = [];
  for (let k = 0; k < n; k++) {
    if (k === identifyAt) {
      const e = base(k, "identify");
      const t = title(rng);
      e.traits = company
        ? { email, first_name: first, last_name: last, title: t, company }
        : { email, first_name: first, last_name: last, title: t };
      inputs.push(e);
      continue;
    }
    if (k === groupAt) {
      const e = base(k, "group");
      const a = account.traits;
      e.groupId = account.id;
      e.traits = { name: a.name, employees: a.employees, industry: a.industry, plan: a.plan };
      inputs.push(e);
      continue;
    }
    if (k === handRaiseAt) {
      inputs.push(track(k, "Demo Requested", { form: "demo" }));
      continue;
    }
    const activity = identified && k > identifyAt ? knownActivity(rng) : anonymousActivity(rng);
    switch (activity) {
      case "page": {
        const root = pagePath(rng);
        const path = root === "/blog" ? `/blog/post-${rng.int(300)}` : root;
        const e = base(k, "page");
        e.name = root === "/" ? "Home" : (root.split("/")[1] as string);
        e.properties = { path, url: `https://www.example.com${path}`, title: e.name };
        inputs.push(e);
        break;
      }
      case "identify": {
        const e = base(k, "identify");
        e.traits = { title: title(rng) };
        inputs.push(e);
        break;
      }
      case "Asset Downloaded":
        inputs.push(track(k, activity, { type: assetType(rng), asset: `asset-${rng.int(40)}` }));
        break;
      case "Email Opened":
      case "Email Clicked":
        inputs.push(track(k, activity, { campaign: `campaign-${rng.int(60)}` }));
        break;
      case "Newsletter Subscribed":
      case "Unsubscribed":
        inputs.push(track(k, activity, { list: "newsletter" }));
        break;
      case "Webinar Registered":
      case "Webinar Attended":
        inputs.push(track(k, activity, { webinar: `webinar-${rng.int(24)}` }));
        break;
      case "Form Submitted": {
        const spam = rng.chance(0.005);
        inputs.push(track(k, activity, { form: "contact", email: spam ? "test@example.com" : email }));
        break;
      }
      case "Demo Requested":
      case "Contact Sales Requested":
        inputs.push(track(k, activity, { form: "sales" }));
        break;
    }
  }

  if (handRaiseAt >= 0) {
    const fact = (f: Fact, t: number): FactInput => ({
      kind: "fact",
      id: messageId(rng, ids),
      at: t,
      fact: f,
      actor: "user",
      by: "rep@example.com",
    });
    const acceptedAt = at(handRaiseAt) + rng.between(1, 72) * HOUR;
    const recycledAt = acceptedAt + rng.between(5, 30) * DAY;
    if (acceptedAt < end && rng.chance(0.8)) inputs.push(fact("accepted", acceptedAt));
    if (recycledAt < end && rng.chance(0.8)) inputs.push(fact("recycled", recycledAt));
  }
  return inputs;
}
