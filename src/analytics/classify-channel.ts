import type { AnalyticsConfig, ChannelRule } from "./analytics-config.js";

/**
 * Where a visit came from, read off one stored event (its engine input): the UTM parameters, the
 * referrer, the page, and the event's name. Pure.
 */

/** The parts of a stored event the analytics read (`events.input`). */
export interface TouchEvent {
  at: number;
  type: string;
  event?: string | undefined;
  name?: string | undefined;
  properties?: Record<string, unknown> | undefined;
  context?: Record<string, unknown> | undefined;
}

export interface Attribution {
  channel: string;
  source: string | null;
  medium: string | null;
  campaign: string | null;
}

export const DIRECT: Attribution = { channel: "direct", source: null, medium: null, campaign: null };

const obj = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
const str = (v: unknown): string | null => (typeof v === "string" && v.trim() !== "" ? v.trim() : null);

function parseUrl(v: unknown): URL | null {
  const s = str(v);
  if (!s) return null;
  try {
    return new URL(s);
  } catch {
    return null;
  }
}

/** What an event says about where it came from. */
export interface Origin {
  source: string | null;
  medium: string | null;
  campaign: string | null;
  /** The referrer's host, lower case, without `www.`. */
  referrer: string | null;
  /** The referrer is another site than the page's. */
  external: boolean;
  path: string | null;
}

const bare = (host: string) => host.toLowerCase().replace(/^www\./, "");

export function originOf(e: TouchEvent): Origin {
  const ctx = obj(e.context) ?? {};
  const props = obj(e.properties) ?? {};
  const page = obj(ctx.page) ?? {};
  const url = parseUrl(page.url) ?? parseUrl(props.url);
  const campaign = obj(ctx.campaign) ?? {};
  const utm = (k: string) => str(campaign[k]) ?? str(url?.searchParams.get(`utm_${k}`));
  const ref = parseUrl(page.referrer) ?? parseUrl(props.referrer) ?? parseUrl(obj(ctx.referrer)?.url);
  const referrer = ref ? bare(ref.hostname) : null;
  const host = url ? bare(url.hostname) : null;
  return {
    source: utm("source"),
    medium: utm("medium"),
    campaign: utm("name") ?? utm("campaign"),
    referrer,
    external: referrer !== null && referrer !== host,
    path: str(page.path) ?? str(props.path) ?? url?.pathname ?? null,
  };
}

const anyOf = (list: readonly string[] | undefined, v: string | null) =>
  list === undefined || (v !== null && list.some((x) => x.toLowerCase() === v.toLowerCase()));

/** `google.` matches google.de and www.google.com; `t.co` matches t.co and x.t.co, not at.co. */
const hostMatches = (list: readonly string[] | undefined, host: string | null) =>
  list === undefined ||
  (host !== null &&
    list.some((p) => {
      const x = p.toLowerCase();
      if (x.endsWith(".")) return host.startsWith(x) || host.includes(`.${x}`);
      return host === x || host.endsWith(`.${x}`);
    }));

function holds(rule: ChannelRule, o: Origin, e: TouchEvent): boolean {
  return (
    anyOf(rule.medium, o.medium) &&
    anyOf(rule.source, o.source) &&
    anyOf(rule.campaign, o.campaign) &&
    hostMatches(rule.referrer, o.referrer) &&
    (rule.event === undefined || (e.type === "track" && anyOf(rule.event, e.event ?? null))) &&
    (rule.external === undefined || o.external)
  );
}

/** The first rule that holds for this event names its channel; null when none does. */
export function classifyEvent(e: TouchEvent, config: AnalyticsConfig): Attribution | null {
  const o = originOf(e);
  for (const rule of config.channels)
    if (holds(rule, o, e))
      return {
        channel: rule.channel,
        source: o.source ?? o.referrer,
        medium: o.medium ?? (rule.external || rule.referrer ? "referral" : null),
        campaign: o.campaign,
      };
  return null;
}

/** The touchpoint types of an event (a type at most once). */
export function touchTypesOf(e: TouchEvent, config: AnalyticsConfig): string[] {
  const out: string[] = [];
  const path = e.type === "page" ? originOf(e).path : null;
  for (const t of config.touchTypes) {
    const byEvent = t.event !== undefined && e.type === "track" && anyOf(t.event, e.event ?? null);
    const byPath = t.path !== undefined && path !== null && t.path.some((p) => path.includes(p));
    if ((byEvent || byPath) && !out.includes(t.type)) out.push(t.type);
  }
  return out;
}
