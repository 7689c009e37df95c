import { z } from "zod";
import { QualifyError } from "../errors.js";

/**
 * How the analytics read behaviour (docs/analytics.md): the session gap, the channel rules and the
 * touchpoint types. A workspace stores its own (`service_state`, key `analytics`); fields left out
 * take the defaults below. Pure: parsing only.
 */

const words = z.array(z.string().min(1)).min(1);

/**
 * A channel rule: every condition given must hold (any value of a list). `medium`, `source` and
 * `campaign` match the UTM parameters (`context.campaign`, or `utm_*` in the page URL),
 * case-insensitively; `referrer` matches the referrer's host (a suffix: `google.` matches
 * `www.google.de`, `t.co` matches `t.co`); `event` a track call's name; `external: true` any
 * referrer on another site than the page.
 */
const channelRule = z
  .object({
    channel: z.string().min(1).max(60),
    medium: words.optional(),
    source: words.optional(),
    campaign: words.optional(),
    referrer: words.optional(),
    event: words.optional(),
    external: z.literal(true).optional(),
  })
  .strict()
  .refine((r) => Object.keys(r).length > 1, {
    error: "a rule needs at least one condition besides its channel",
  });

/**
 * A touchpoint type for paths: an event is of this type when a condition holds: its track
 * `event` name is listed, or its page `path` contains one of `path`.
 */
const touchType = z
  .object({
    type: z.string().min(1).max(60),
    event: words.optional(),
    path: words.optional(),
  })
  .strict()
  .refine((t) => t.event !== undefined || t.path !== undefined, { error: "give event names or page paths" });

export const analyticsConfigSchema = z
  .object({
    /** A new session starts after this much inactivity (minutes). */
    sessionGapMinutes: z.number().int().min(1).max(1440).default(30),
    /** Checked in order; the first that holds names the channel. A session none matches is `direct`. */
    channels: z.array(channelRule).max(200).optional(),
    touchTypes: z.array(touchType).max(200).optional(),
    /** Paths collapse consecutive repeats of a type (`webinar → webinar → pricing` is `webinar → pricing`). */
    collapseRepeats: z.boolean().default(true),
  })
  .strict();

export type ChannelRule = z.infer<typeof channelRule>;
export type TouchTypeRule = z.infer<typeof touchType>;

export interface AnalyticsConfig {
  sessionGapMs: number;
  channels: ChannelRule[];
  touchTypes: TouchTypeRule[];
  collapseRepeats: boolean;
}

const SEARCH_ENGINES = [
  "google.",
  "bing.com",
  "duckduckgo.com",
  "search.yahoo.com",
  "yandex.",
  "baidu.com",
  "ecosia.org",
  "search.brave.com",
];
const SOCIAL_SITES = [
  "facebook.com",
  "fb.com",
  "linkedin.com",
  "lnkd.in",
  "t.co",
  "twitter.com",
  "x.com",
  "instagram.com",
  "reddit.com",
  "youtube.com",
  "tiktok.com",
];
const SOCIAL_SOURCES = [
  "facebook",
  "fb",
  "linkedin",
  "twitter",
  "x",
  "instagram",
  "reddit",
  "youtube",
  "tiktok",
];
const PAID = ["cpc", "ppc", "paid", "paidsearch", "paid-search", "paid_search", "sem"];

/** The default channel rules, in order (documented in docs/analytics.md). */
export const DEFAULT_CHANNELS: ChannelRule[] = [
  {
    channel: "paid-social",
    medium: [...PAID, "paid-social", "paid_social", "paidsocial"],
    source: SOCIAL_SOURCES,
  },
  { channel: "paid-social", medium: ["paid-social", "paid_social", "paidsocial"] },
  { channel: "paid-search", medium: PAID },
  { channel: "display", medium: ["display", "banner", "cpm"] },
  { channel: "email", medium: ["email", "e-mail", "newsletter"] },
  { channel: "email", event: ["Email Clicked"] },
  { channel: "events-webinars", medium: ["event", "events", "webinar"] },
  {
    channel: "events-webinars",
    event: ["Webinar Registered", "Webinar Attended", "Event Registered", "Event Attended", "Booth Visited"],
  },
  { channel: "affiliate", medium: ["affiliate", "partner"] },
  { channel: "organic-social", medium: ["social", "social-network", "social-media", "sm", "organic-social"] },
  { channel: "organic-social", referrer: SOCIAL_SITES },
  { channel: "organic-search", medium: ["organic"] },
  { channel: "organic-search", referrer: SEARCH_ENGINES },
  { channel: "referral", medium: ["referral"] },
  { channel: "referral", external: true },
];

/** The default touchpoint types for paths. */
export const DEFAULT_TOUCH_TYPES: TouchTypeRule[] = [
  { type: "webinar", event: ["Webinar Registered", "Webinar Attended"] },
  { type: "ebook", event: ["Asset Downloaded", "Ebook Downloaded", "Whitepaper Downloaded"] },
  { type: "pricing", event: ["Pricing Viewed"], path: ["/pricing"] },
  { type: "email click", event: ["Email Clicked"] },
  { type: "demo request", event: ["Demo Requested", "Contact Sales"] },
  { type: "trial", event: ["Trial Started", "Signed Up"] },
  { type: "form", event: ["Form Submitted"] },
];

export const DEFAULT_ANALYTICS_CONFIG: AnalyticsConfig = parseAnalyticsConfig({});

/** Parses a stored or submitted configuration; ANALYTICS_CONFIG_INVALID names each bad field. */
export function parseAnalyticsConfig(raw: unknown): AnalyticsConfig {
  const r = analyticsConfigSchema.safeParse(raw ?? {});
  if (!r.success)
    throw new QualifyError(
      "ANALYTICS_CONFIG_INVALID",
      "the analytics configuration is invalid",
      r.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
    );
  return {
    sessionGapMs: r.data.sessionGapMinutes * 60_000,
    channels: r.data.channels ?? DEFAULT_CHANNELS,
    touchTypes: r.data.touchTypes ?? DEFAULT_TOUCH_TYPES,
    collapseRepeats: r.data.collapseRepeats,
  };
}
