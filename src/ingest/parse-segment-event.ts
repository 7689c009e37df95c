import { createHash } from "node:crypto";
import { makeEvent } from "../engine/make-event.js";
import { EVENT_TYPES, type EventInput, type EventType } from "../engine/types.js";

/**
 * Validates one Segment call (track, page, screen, identify, group, alias) and normalises it into
 * an engine input plus the identities it names. Shared by the offline CLI and HTTP ingest.
 */

export interface ParsedEvent {
  input: EventInput;
  userId?: string;
  anonymousId?: string;
  /** alias: the id being merged into `userId`. */
  previousId?: string;
}

export type ParseResult = { ok: true; event: ParsedEvent } | { ok: false; field: string; reason: string };

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function idOf(v: unknown): string | undefined {
  if (typeof v === "string" && v.trim() !== "") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return undefined;
}

/**
 * What PostgreSQL can store and index: ids are indexed (an index entry holds at most ~2.7 KB, so 512
 * UTF-16 units, at most 1.5 KB of UTF-8, is safe), an email is indexed too (RFC 5321 allows 320
 * characters), and no string may hold U+0000 or a lone surrogate (jsonb and text refuse them). The
 * nesting limit keeps every JSON.stringify and every PostgreSQL JSON parse far from its stack limit.
 */
export const MAX_ID_LENGTH = 512;
export const MAX_EMAIL_LENGTH = 320;
export const MAX_DEPTH = 64;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** U+0000 or any surrogate: almost no string has one, so one scan clears almost every string. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is what it looks for
const SUSPECT = /[\u0000\ud800-\udfff]/;
const storableText = (s: string) => !SUSPECT.test(s) || (!s.includes("\u0000") && !LONE_SURROGATE.test(s));

type Unstorable = { field: string; reason: string };

/**
 * Depth-first, an object's keys before its values and its values last to first (the order of the
 * explicit stack this replaced, so the same problem is named when there are several); allocation
 * free but for each object's key list. Recursion stops at MAX_DEPTH.
 */
function unstorableValue(v: unknown, depth: number, field: string): Unstorable | null {
  if (typeof v === "string")
    return storableText(v) ? null : { field, reason: "a string holds U+0000 or a lone surrogate" };
  if (typeof v !== "object" || v === null) return null;
  if (depth >= MAX_DEPTH) return { field, reason: `nested more than ${MAX_DEPTH} levels deep` };
  if (Array.isArray(v)) {
    for (let i = v.length - 1; i >= 0; i--) {
      const bad = unstorableValue(v[i], depth + 1, field);
      if (bad) return bad;
    }
    return null;
  }
  const keys = Object.keys(v);
  for (const k of keys)
    if (!storableText(k)) return { field, reason: "a key holds U+0000 or a lone surrogate" };
  for (let i = keys.length - 1; i >= 0; i--) {
    const bad = unstorableValue((v as Record<string, unknown>)[keys[i] as string], depth + 1, field);
    if (bad) return bad;
  }
  return null;
}

/** Why a JSON value cannot be stored, with the top-level field it is under; null when it can. */
function unstorable(raw: Record<string, unknown>): Unstorable | null {
  const keys = Object.keys(raw);
  for (const key of keys)
    if (!storableText(key))
      return { field: "(event)", reason: "a field name holds U+0000 or a lone surrogate" };
  for (let i = keys.length - 1; i >= 0; i--) {
    const key = keys[i] as string;
    const bad = unstorableValue(raw[key], 1, key);
    if (bad) return bad;
  }
  return null;
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** An ISO-8601 time in epoch ms; undefined when absent, null when malformed. */
function timeOf(v: unknown): number | undefined | null {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || !ISO_8601.test(v)) return null;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : null;
}

/**
 * Event time, as Segment computes it: `timestamp` corrected for client clock skew by the difference
 * between `sentAt` and the time the server received the call. Without `timestamp`, the receive time.
 */
export function eventTime(
  timestamp: number | undefined,
  sentAt: number | undefined,
  receivedAt: number | undefined,
) {
  if (timestamp === undefined) return receivedAt;
  if (sentAt !== undefined && receivedAt !== undefined) return receivedAt - (sentAt - timestamp);
  return timestamp;
}

/** A stable id for a call sent without `messageId`, so that resending the same line counts once. */
function contentId(raw: Record<string, unknown>): string {
  return `content-${createHash("sha1").update(JSON.stringify(raw)).digest("hex").slice(0, 24)}`;
}

const ID_FIELDS = ["messageId", "userId", "anonymousId", "previousId", "groupId"] as const;
const OBJECT_FIELDS = ["properties", "traits", "context"] as const;

export function parseSegmentEvent(raw: unknown, receivedAt?: number, defaultType?: EventType): ParseResult {
  const fail = (field: string, reason: string): ParseResult => ({ ok: false, field, reason });
  if (!isRecord(raw)) return fail("(event)", "expected a JSON object");
  const bad = unstorable(raw);
  if (bad) return fail(bad.field, bad.reason);
  for (const key of ID_FIELDS) {
    const id = idOf(raw[key]);
    if (id !== undefined && id.length > MAX_ID_LENGTH)
      return fail(key, `longer than ${MAX_ID_LENGTH} characters`);
  }
  const type = raw.type ?? defaultType;
  if (typeof type !== "string" || !(EVENT_TYPES as readonly string[]).includes(type))
    return fail("type", `expected one of ${EVENT_TYPES.join(", ")}, got ${JSON.stringify(type)}`);
  const userId = idOf(raw.userId);
  const anonymousId = idOf(raw.anonymousId);
  if (!userId && !anonymousId) return fail("userId", "every call needs a userId or an anonymousId");
  if (raw.messageId !== undefined && idOf(raw.messageId) === undefined)
    return fail("messageId", "expected a non-empty string");

  // RudderStack's SDKs send the call's time as `originalTimestamp`, and no `timestamp`.
  const timeField =
    raw.timestamp === undefined && raw.originalTimestamp !== undefined ? "originalTimestamp" : "timestamp";
  const timestamp = timeOf(raw[timeField]);
  if (timestamp === null)
    return fail(timeField, `expected an ISO-8601 date, got ${JSON.stringify(raw[timeField])}`);
  const sentAt = timeOf(raw.sentAt);
  if (sentAt === null) return fail("sentAt", `expected an ISO-8601 date, got ${JSON.stringify(raw.sentAt)}`);
  const received = receivedAt ?? timeOf(raw.receivedAt);
  if (received === null)
    return fail("receivedAt", `expected an ISO-8601 date, got ${JSON.stringify(raw.receivedAt)}`);
  const at = eventTime(timestamp, sentAt, received);
  if (at === undefined) return fail("timestamp", "missing, and there is no receive time to use instead");

  for (const key of OBJECT_FIELDS) {
    if (raw[key] !== undefined && !isRecord(raw[key])) return fail(key, "expected an object");
  }
  const input = makeEvent(idOf(raw.messageId) ?? contentId(raw), at, type as EventType);
  if (isRecord(raw.context)) input.context = raw.context;

  switch (type) {
    case "track":
      if (typeof raw.event !== "string" || raw.event.trim() === "")
        return fail("event", "a track call needs an event name");
      input.event = raw.event;
      if (isRecord(raw.properties)) input.properties = raw.properties;
      break;
    case "page":
    case "screen": {
      if (raw.name !== undefined && typeof raw.name !== "string") return fail("name", "expected a string");
      if (typeof raw.name === "string") input.name = raw.name;
      const props = isRecord(raw.properties) ? { ...raw.properties } : {};
      if (props.path === undefined && typeof props.url === "string") {
        try {
          props.path = new URL(props.url).pathname;
        } catch {
          // A relative or malformed url leaves `path` unset.
        }
      }
      input.properties = props;
      break;
    }
    case "identify":
      if (
        isRecord(raw.traits) &&
        typeof raw.traits.email === "string" &&
        raw.traits.email.length > MAX_EMAIL_LENGTH
      )
        return fail("traits.email", `longer than ${MAX_EMAIL_LENGTH} characters`);
      if (isRecord(raw.traits)) input.traits = raw.traits;
      break;
    case "group": {
      const groupId = idOf(raw.groupId);
      if (!groupId) return fail("groupId", "a group call needs a groupId");
      input.groupId = groupId;
      if (isRecord(raw.traits)) input.traits = raw.traits;
      break;
    }
    case "alias": {
      const previousId = idOf(raw.previousId);
      if (!previousId) return fail("previousId", "an alias call needs a previousId");
      if (!userId) return fail("userId", "an alias call needs the userId to merge into");
      return { ok: true, event: { input, userId, previousId } };
    }
  }
  return {
    ok: true,
    event: { input, ...(userId ? { userId } : {}), ...(anonymousId ? { anonymousId } : {}) },
  };
}
