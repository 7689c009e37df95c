import { Random } from "../src/analytics/random.js";

/** A Segment call as an SDK sends it (the body of /v1/track… or an item of /v1/batch). */
export type SegmentCall = Record<string, unknown> & { type: string; messageId: string; timestamp: string };

const DOMAINS = Array.from({ length: 400 }, (_, i) => `company${i}.example`);
const FREE_MAIL = ["gmail.com", "yahoo.com", "outlook.com"];
const TITLES = ["VP Marketing", "Director of Marketing", "Marketing Manager", "Engineer", "Analyst", "CEO"];
const PATHS = ["/", "/blog", "/pricing", "/product", "/docs", "/customers"];
const TRACKS: [string, Record<string, unknown>][] = [
  ["Email Opened", {}],
  ["Email Opened", {}],
  ["Email Clicked", {}],
  ["Asset Downloaded", { type: "ebook" }],
  ["Asset Downloaded", { type: "whitepaper" }],
  ["Webinar Registered", {}],
  ["Form Submitted", { form: "newsletter" }],
];

interface Visitor {
  n: number;
  anonymousId: string;
  userId: string | null;
  domain: string;
  grouped: boolean;
  left: number;
}

/**
 * An endless live stream of Segment calls from a pool of concurrent visitors, as a B2B site sends
 * them: anonymous page views, then an identify with a work email, then content, email and webinar
 * engagement, group calls, and now and then a demo request. Each visitor sends 10 to 40 calls and
 * is replaced by a new one, so leads keep arriving. Deterministic for a seed; `prefix` keeps the ids
 * of separate runs apart. Timestamps are the time of the call (`now`).
 */
export class LiveStream {
  private readonly rng: Random;
  private readonly pool: Visitor[] = [];
  /** Each company's headcount as its group calls report it. */
  private readonly employees = new Map<string, number>();
  private visitors = 0;
  private calls = 0;

  constructor(
    seed: number,
    private readonly prefix: string,
    poolSize = 2_000,
  ) {
    this.rng = new Random(seed);
    for (let i = 0; i < poolSize; i++) this.pool.push(this.visitor());
  }

  private visitor(): Visitor {
    const n = this.visitors++;
    return {
      n,
      anonymousId: `${this.prefix}-anon-${n}`,
      userId: null,
      domain: this.rng.chance(0.2) ? this.rng.pick(FREE_MAIL) : this.rng.pick(DOMAINS),
      grouped: false,
      left: 10 + this.rng.int(31),
    };
  }

  /**
   * A company's headcount: the same for all its people, except that now and then (2 % of group
   * calls) an enrichment refresh reports growth, a trait change that reaches every member.
   */
  private headcount(domain: string): number {
    const known = this.employees.get(domain);
    const n = known === undefined ? 50 + this.rng.int(20) * 100 : this.rng.chance(0.02) ? known + 10 : known;
    this.employees.set(domain, n);
    return n;
  }

  next(now: number): SegmentCall {
    const slot = this.rng.int(this.pool.length);
    const v = this.pool[slot] as Visitor;
    const call = this.callOf(v, {
      messageId: `${this.prefix}-${this.calls++}`,
      timestamp: new Date(now).toISOString(),
      anonymousId: v.anonymousId,
      ...(v.userId ? { userId: v.userId } : {}),
    });
    if (--v.left <= 0) this.pool[slot] = this.visitor();
    return call;
  }

  batch(size: number, now: number): SegmentCall[] {
    return Array.from({ length: size }, () => this.next(now));
  }

  private callOf(
    v: Visitor,
    ids: { messageId: string; timestamp: string; anonymousId: string },
  ): SegmentCall {
    const r = this.rng;
    if (v.userId === null) {
      if (r.chance(0.75)) return { ...ids, type: "page", name: "Page", properties: { path: r.pick(PATHS) } };
      v.userId = `${this.prefix}-user-${v.n}`;
      return {
        ...ids,
        type: "identify",
        userId: v.userId,
        traits: { email: `person${v.n}@${v.domain}`, name: `Person ${v.n}`, title: r.pick(TITLES) },
      };
    }
    if (!v.grouped && !FREE_MAIL.includes(v.domain) && r.chance(0.1)) {
      v.grouped = true;
      return {
        ...ids,
        type: "group",
        groupId: `acct-${v.domain}`,
        traits: {
          name: v.domain,
          domain: v.domain,
          employees: this.headcount(v.domain),
          industry: "Software",
        },
      };
    }
    if (r.chance(0.005)) return { ...ids, type: "track", event: "Demo Requested", properties: {} };
    if (r.chance(0.4)) return { ...ids, type: "page", name: "Page", properties: { path: r.pick(PATHS) } };
    const [event, properties] = r.pick(TRACKS);
    return { ...ids, type: "track", event, properties };
  }
}
