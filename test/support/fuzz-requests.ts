import { deflateSync, gzipSync } from "node:zlib";
import fc from "fast-check";

/**
 * fast-check generators for hostile ingest requests: Segment calls with wrong types in every field,
 * unknown fields, invalid timestamps, huge strings, deep nesting (up to 100,000 levels), random
 * bytes, non-JSON bodies, truncated or mislabelled compression and odd content types, to every
 * /v1 route. Huge and deep values are placeholders in the generated value (readable counterexamples)
 * that are expanded when the body is rendered.
 */

export const SINGLE_PATHS = [
  "/v1/track",
  "/v1/identify",
  "/v1/page",
  "/v1/screen",
  "/v1/group",
  "/v1/alias",
] as const;

export interface FuzzRequest {
  method: string;
  /** The route, without the suffix the path may carry. */
  route: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  /** A one-line description for failure messages. */
  label: string;
  /** For a readable single call: its messageId, when it is a plain string. */
  messageId?: string;
  /** For a readable batch: the messageId (a plain string, or undefined) of each item. */
  batchIds?: (string | undefined)[];
}

// --- values -------------------------------------------------------------------------------------

/** A tiny deterministic PRNG, so a huge random string is a function of its seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABETS = {
  ascii: [..."abcdefghijklmnopqrstuvwxyz0123456789-_.@"],
  unicode: ["é", "漢", "😀", "ß", "\u2028", "a", "Ω", "\ufeff", "ﬁ"],
  nasty: ["\u0000", "\ud800", "\udfff", "\\", '"', "\n", "a", "😀"],
};

/** The text of a huge string: `repeat` compresses to nothing, `random` does not compress at all. */
function hugeText(kind: string, length: number, seed: number): string {
  if (kind === "repeat") return "x".repeat(length);
  const alphabet: string[] = ALPHABETS[kind as keyof typeof ALPHABETS] ?? ALPHABETS.ascii;
  const next = mulberry32(seed);
  const out: string[] = [];
  let size = 0;
  while (size < length) {
    const c = alphabet[Math.floor(next() * alphabet.length)] as string;
    out.push(c);
    size += c.length;
  }
  return out.join("");
}

/** JSON text nested `depth` levels deep. */
function deepText(kind: string, depth: number): string {
  switch (kind) {
    case "object":
      return `${'{"a":'.repeat(depth)}0${"}".repeat(depth)}`;
    case "mixed": {
      const half = Math.ceil(depth / 2);
      return `${'[{"a":'.repeat(half)}1${"}]".repeat(half)}`;
    }
    default:
      return `${"[".repeat(depth)}${"]".repeat(depth)}`;
  }
}

const hugeString = fc
  .record({
    kind: fc.constantFrom("repeat", "ascii", "unicode", "nasty"),
    length: fc.constantFrom(600, 3_000, 9_000, 20_000, 33_000, 600_000),
    seed: fc.integer(),
  })
  .map(({ kind, length, seed }) => `@@huge:${kind}:${length}:${seed >>> 0}@@`);

const deepValue = fc
  .record({
    kind: fc.constantFrom("array", "object", "mixed"),
    depth: fc.constantFrom(63, 65, 100, 1_000, 10_000, 100_000),
  })
  .map(({ kind, depth }) => `@@deep:${kind}:${depth}@@`);

/** Replaces the placeholders of huge and deep values in rendered JSON. */
function expand(json: string): string {
  return json.replace(/"@@(huge|deep):([a-z]+):(\d+)(?::(\d+))?@@"/g, (_m, what, kind, n, seed) =>
    what === "huge" ? JSON.stringify(hugeText(kind, Number(n), Number(seed))) : deepText(kind, Number(n)),
  );
}

const SPECIAL_STRINGS = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "x\udc00y",
  "😀",
  "null",
  "NaN",
  "__proto__",
  "constructor",
  "toString",
  "<script>alert(1)</script>",
  "' or 1=1 --",
  "%s%n%x",
  "\\",
  "\n\r\t",
  "\u2028\u2029",
  "\ufeff",
  "0",
  "-1",
  "1e309",
];

export const invalidTimestamp = fc.oneof(
  fc.constantFrom(
    "",
    "yesterday",
    "2024-13-45T25:61:00Z",
    "9999-99-99T99:99:99Z",
    "0000-00-00",
    "2024-02-30T00:00:00Z",
    "2024-01-01T00:00:00+99:99",
    "+275760-09-13T00:00:00.000Z",
    "-271821-04-20T00:00:00.000Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999999Z",
    "1970-01-01",
    "2024-01-01T00:00",
    "2024-01-01 00:00:00",
    "Mon, 01 Jan 2024 00:00:00 GMT",
    "1700000000000",
    "NaN",
    "Infinity",
  ),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 30 }),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
);

const nastyString = fc
  .array(fc.oneof(fc.constantFrom(...ALPHABETS.nasty), fc.string({ unit: "binary", maxLength: 3 })), {
    maxLength: 8,
  })
  .map((parts) => parts.join(""));

/** A value of any type: the wrong one for most fields. */
export const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.constantFrom(Number.MAX_VALUE, -0, 1e-320, 2 ** 53 + 1) },
  { weight: 3, arbitrary: fc.constantFrom(...SPECIAL_STRINGS) },
  { weight: 2, arbitrary: nastyString },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.dictionary(nastyString, fc.jsonValue({ maxDepth: 1 }), { maxKeys: 4 }) },
  { weight: 2, arbitrary: hugeString },
  { weight: 2, arbitrary: deepValue },
  { weight: 2, arbitrary: invalidTimestamp },
);

// --- events -------------------------------------------------------------------------------------

const FIELDS = [
  "type",
  "userId",
  "anonymousId",
  "messageId",
  "timestamp",
  "sentAt",
  "receivedAt",
  "originalTimestamp",
  "event",
  "name",
  "properties",
  "traits",
  "context",
  "groupId",
  "previousId",
  "writeKey",
  "integrations",
  "batch",
  "properties.path",
  "properties.url",
  "properties.type",
  "traits.email",
  "traits.title",
  "traits.name",
  "traits.employees",
  "traits.domain",
  "traits.website",
  "context.page",
  "context.campaign",
];

/** Sets a field (or `a.b`) of a plain object to a value, making the parent an object if needed. */
function setField(target: Record<string, unknown>, path: string, value: unknown): void {
  const [head, tail] = path.split(".", 2) as [string, string | undefined];
  if (tail === undefined) {
    Object.defineProperty(target, head, { value, enumerable: true, writable: true, configurable: true });
    return;
  }
  const parent = target[head];
  const obj =
    typeof parent === "object" && parent !== null && !Array.isArray(parent)
      ? (parent as Record<string, unknown>)
      : {};
  setField(obj, tail, value);
  setField(target, head, obj);
}

/** A change to an event: a known or unknown field set to any value, or a field removed. */
const mutation = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...FIELDS), wrongValue) },
  { weight: 2, arbitrary: fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), wrongValue) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...FIELDS), fc.constant("@@delete@@")) },
);

function mutate(event: Record<string, unknown>, changes: [string, unknown][]): Record<string, unknown> {
  const out = structuredClone(event);
  for (const [field, value] of changes) {
    if (value === "@@delete@@") delete out[field.split(".")[0] as string];
    else setField(out, field, value);
  }
  return out;
}

const validTime = fc
  .integer({ min: Date.parse("2025-01-01T00:00:00Z"), max: Date.parse("2026-12-31T00:00:00Z") })
  .map((ms) => new Date(ms).toISOString());

/** A plausible Segment call; `messageIds` are ids the fuzzing may reuse (retries of stored events). */
function segmentEvent(messageIds: readonly string[]) {
  const id = fc.oneof(
    fc.constantFrom("fz-user-1", "fz-user-2", "fz-user-3", "fz-anon-1", "fz-anon-2"),
    fc.string({ minLength: 1, maxLength: 16 }),
  );
  return fc.record(
    {
      type: fc.constantFrom("track", "identify", "page", "screen", "group", "alias"),
      userId: id,
      anonymousId: id,
      messageId: fc.oneof(fc.uuid(), ...(messageIds.length > 0 ? [fc.constantFrom(...messageIds)] : [])),
      event: fc.constantFrom("Demo Requested", "Webinar Attended", "Asset Downloaded", "Form Submitted"),
      name: fc.constantFrom("Pricing", "Home"),
      properties: fc.record(
        { path: fc.constantFrom("/pricing", "/blog"), url: fc.constant("https://x.example/pricing") },
        { requiredKeys: [] },
      ),
      traits: fc.record(
        {
          email: fc.constantFrom("ana@fuzz.example", "bo@gmail.com", "spy@rival.example"),
          title: fc.constantFrom("VP Marketing", "Student", "Engineer"),
          employees: fc.integer({ min: 0, max: 10_000 }),
        },
        { requiredKeys: [] },
      ),
      context: fc.record(
        { ip: fc.constant("127.0.0.1"), locale: fc.constant("en-US") },
        { requiredKeys: [] },
      ),
      groupId: fc.constantFrom("fz-acct-1", "fz-acct-2"),
      previousId: id,
      timestamp: validTime,
      sentAt: validTime,
    },
    { requiredKeys: [] },
  );
}

const mutatedEvent = (messageIds: readonly string[]) =>
  fc
    .tuple(segmentEvent(messageIds), fc.array(mutation, { maxLength: 4 }))
    .map(([e, changes]) => mutate(e, changes));

// --- bodies -------------------------------------------------------------------------------------

export type Body =
  | { kind: "json"; value: unknown }
  | { kind: "text"; text: string }
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "bomb"; size: number }
  | { kind: "many"; count: number };

const TEXT_BODIES = [
  "",
  " ",
  "null",
  "[]",
  "{}",
  '"a string"',
  "42",
  "{",
  '{"userId":"a","event":"x"',
  '{"userId":"a","event":"x"} trailing',
  '{"userId":"a","userId":{"x":1},"event":"x"}',
  '\ufeff{"userId":"a","event":"x"}',
  '{"userId":"a","event":NaN}',
  '{"userId":"a","event":"x","properties":{"n":1e400}}',
  "\u0000",
  '{"batch":[{"type":"track","userId":"a","event":"x"}],"batch":5}',
  '{"batch":{"length":3}}',
  '{"batch":"[]"}',
  "userId=a&event=x",
];

/** Where the database indexes a value, by the call type that stores it there. */
const INDEXED: [string, string][] = [
  ["track", "userId"],
  ["page", "anonymousId"],
  ["track", "messageId"],
  ["identify", "userId"],
  ["group", "groupId"],
  ["alias", "previousId"],
  ["identify", "traits.email"],
  ["group", "traits.domain"],
  ["group", "traits.website"],
];

/** A valid call but for one long value where the database indexes it (an index entry is at most a few KB). */
const longIndexed = (messageIds: readonly string[]) =>
  fc
    .record({
      base: segmentEvent(messageIds),
      target: fc.constantFrom(...INDEXED),
      kind: fc.constantFrom("ascii", "unicode"),
      length: fc.constantFrom(600, 3_000, 9_000, 20_000),
      seed: fc.integer(),
    })
    .map(({ base, target: [type, field], kind, length, seed }) => ({
      type,
      event: mutate({ ...base, type, userId: "fz-user-1" }, [
        [field, `@@huge:${kind}:${length}:${seed >>> 0}@@`],
      ]),
    }));

function bodies(messageIds: readonly string[]): fc.Arbitrary<{ path: string; body: Body }> {
  const single = fc.record({
    path: fc.constantFrom(...SINGLE_PATHS),
    body: mutatedEvent(messageIds).map((value): Body => ({ kind: "json", value })),
  });
  const batch = fc.record({
    path: fc.constant("/v1/batch"),
    body: fc
      .tuple(
        fc.array(
          fc.oneof({ weight: 5, arbitrary: mutatedEvent(messageIds) }, { weight: 1, arbitrary: wrongValue }),
          {
            maxLength: 12,
          },
        ),
        fc.array(
          fc.tuple(
            fc.constantFrom("context", "sentAt", "writeKey", "integrations", "batch", "extra"),
            wrongValue,
          ),
          { maxLength: 2 },
        ),
      )
      .map(([items, changes]): Body => ({ kind: "json", value: mutate({ batch: items }, changes) })),
  });
  const tooManyEvents = fc.record({
    path: fc.constant("/v1/batch"),
    body: fc.integer({ min: 2_400, max: 2_700 }).map((count): Body => ({ kind: "many", count })),
  });
  const anyPath = fc.constantFrom(...SINGLE_PATHS, "/v1/batch");
  const long = longIndexed(messageIds).chain(({ type, event }) =>
    fc.constantFrom(
      { path: `/v1/${type}`, body: { kind: "json", value: event } as Body },
      { path: "/v1/batch", body: { kind: "json", value: { batch: [event] } } as Body },
    ),
  );
  return fc.oneof(
    { weight: 8, arbitrary: single },
    { weight: 3, arbitrary: long },
    { weight: 6, arbitrary: batch },
    { weight: 1, arbitrary: tooManyEvents },
    {
      weight: 1,
      arbitrary: fc.record({
        path: anyPath,
        body: fc.jsonValue({ maxDepth: 4 }).map((value): Body => ({ kind: "json", value })),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        path: anyPath,
        body: fc.uint8Array({ maxLength: 4_000 }).map((bytes): Body => ({ kind: "bytes", bytes })),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        path: anyPath,
        body: fc.constantFrom(...TEXT_BODIES).map((text): Body => ({ kind: "text", text })),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        path: anyPath,
        body: fc.constantFrom(40_000, 600_000, 8_000_000).map((size): Body => ({ kind: "bomb", size })),
      }),
    },
  );
}

// --- wire ---------------------------------------------------------------------------------------

const ENCODINGS = fc.oneof(
  { weight: 10, arbitrary: fc.constant({ how: "identity" }) },
  { weight: 2, arbitrary: fc.constant({ how: "gzip" }) },
  {
    weight: 3,
    arbitrary: fc.double({ min: 0, max: 1, noNaN: true }).map((cut) => ({ how: "gzip-cut", cut })),
  },
  { weight: 1, arbitrary: fc.constant({ how: "deflate" }) },
  {
    weight: 1,
    arbitrary: fc.double({ min: 0, max: 1, noNaN: true }).map((cut) => ({ how: "deflate-cut", cut })),
  },
  { weight: 1, arbitrary: fc.constant({ how: "gzip-as-deflate" }) },
  { weight: 1, arbitrary: fc.constant({ how: "plain-as-gzip" }) },
  { weight: 1, arbitrary: fc.constant({ how: "gzip-twice" }) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom("br", "compress", "gzip, gzip", "zstd", " GZIP ", "identity", "x-gzip", "*")
      .map((label) => ({ how: "label", label })),
  },
);

const CONTENT_TYPES = fc.oneof(
  { weight: 8, arbitrary: fc.constant<string | null>("application/json") },
  {
    weight: 4,
    arbitrary: fc.constantFrom<string | null>(
      null,
      "application/json; charset=utf-8",
      "application/json; charset=utf-16",
      "text/plain",
      "application/x-www-form-urlencoded",
      "application/x-ndjson",
      "multipart/form-data; boundary=xyz",
      "application/octet-stream",
      "garbage",
      ";;;",
      "application/json;;;charset",
      "*/*",
    ),
  },
);

const AUTH = fc.oneof(
  { weight: 12, arbitrary: fc.constant("basic") },
  { weight: 2, arbitrary: fc.constant("body") },
  { weight: 1, arbitrary: fc.constant("none") },
  { weight: 1, arbitrary: fc.constant("wrong") },
  { weight: 1, arbitrary: fc.constant("garbage") },
);

const METHODS = fc.oneof(
  { weight: 30, arbitrary: fc.constant("POST") },
  { weight: 1, arbitrary: fc.constantFrom("GET", "PUT", "PATCH", "DELETE") },
);

const PATH_SUFFIX = fc.oneof(
  { weight: 30, arbitrary: fc.constant("") },
  { weight: 1, arbitrary: fc.constantFrom("?x=1", "/", "/extra", "?writeKey=abc", "%00", "?a[b]=1") },
);

function render(body: Body): Buffer {
  switch (body.kind) {
    case "json":
      return Buffer.from(expand(JSON.stringify(body.value) ?? "null"), "utf8");
    case "text":
      return Buffer.from(body.text, "utf8");
    case "bytes":
      return Buffer.from(body.bytes);
    case "many":
      return Buffer.from(JSON.stringify({ batch: Array.from({ length: body.count }, () => ({})) }));
    case "bomb":
      // Valid JSON when inflated, far over every limit: a string of `size` spaces.
      return Buffer.from(`{"userId":"a","event":"x","properties":{"pad":"${" ".repeat(body.size)}"}}`);
  }
}

function encode(raw: Buffer, enc: { how: string; cut?: number; label?: string }) {
  const cut = (b: Buffer) => b.subarray(0, Math.floor(b.length * (enc.cut ?? 1)));
  switch (enc.how) {
    case "gzip":
      return { body: gzipSync(raw), encoding: "gzip" };
    case "gzip-cut":
      return { body: cut(gzipSync(raw)), encoding: "gzip" };
    case "deflate":
      return { body: deflateSync(raw), encoding: "deflate" };
    case "deflate-cut":
      return { body: cut(deflateSync(raw)), encoding: "deflate" };
    case "gzip-as-deflate":
      return { body: gzipSync(raw), encoding: "deflate" };
    case "plain-as-gzip":
      return { body: raw, encoding: "gzip" };
    case "gzip-twice":
      return { body: gzipSync(gzipSync(raw)), encoding: "gzip" };
    case "label":
      return { body: raw, encoding: enc.label };
    default:
      return { body: raw, encoding: undefined };
  }
}

const plainId = (v: unknown): string | undefined =>
  typeof v === "string" && v.trim() !== "" && !v.startsWith("@@") ? v : undefined;

/** What a hostile request is made of; `renderRequest` turns it into bytes (counterexamples stay short). */
export interface FuzzSpec {
  target: { path: string; body: Body };
  encoding: { how: string; cut?: number; label?: string };
  contentType: string | null;
  auth: string;
  method: string;
  suffix: string;
}

/** Hostile requests to the ingest API; `messageIds` are stored ids the fuzzing may resend. */
export function fuzzSpec(messageIds: readonly string[]): fc.Arbitrary<FuzzSpec> {
  return fc.record({
    target: bodies(messageIds),
    encoding: ENCODINGS as fc.Arbitrary<FuzzSpec["encoding"]>,
    contentType: CONTENT_TYPES,
    auth: AUTH,
    method: METHODS,
    suffix: PATH_SUFFIX,
  });
}

export function renderRequest(spec: FuzzSpec, writeKey: string): FuzzRequest {
  const { target, encoding, contentType, auth, method, suffix } = spec;
  // Generated values are reused while shrinking: copy, never change them.
  const body: Body =
    auth === "body" &&
    target.body.kind === "json" &&
    typeof target.body.value === "object" &&
    target.body.value !== null &&
    !Array.isArray(target.body.value)
      ? { kind: "json", value: { ...target.body.value, writeKey } }
      : target.body;
  const headers: Record<string, string> = {};
  if (auth === "basic") headers.authorization = `Basic ${Buffer.from(`${writeKey}:`).toString("base64")}`;
  if (auth === "wrong")
    headers.authorization = `Basic ${Buffer.from("wk_not_a_key_at_all:").toString("base64")}`;
  if (auth === "garbage") headers.authorization = "Basic !!!not base64:::";
  if (contentType !== null) headers["content-type"] = contentType;
  const sendsBody = method !== "GET";
  const encoded = encode(render(body), encoding);
  if (sendsBody && encoded.encoding !== undefined) headers["content-encoding"] = encoded.encoding;
  const req: FuzzRequest = {
    method,
    route: target.path,
    path: `${target.path}${suffix}`,
    headers,
    body: sendsBody ? encoded.body : undefined,
    label: `${method} ${target.path}${suffix} ${body.kind} enc=${encoding.how}${encoding.label ? `(${encoding.label})` : ""} ct=${contentType} auth=${auth}`,
  };
  if (body.kind === "json" && typeof body.value === "object" && body.value !== null) {
    const v = body.value as Record<string, unknown>;
    if (target.path === "/v1/batch") {
      if (Array.isArray(v.batch))
        req.batchIds = v.batch.map((item) =>
          typeof item === "object" && item !== null && !Array.isArray(item)
            ? plainId((item as Record<string, unknown>).messageId)
            : undefined,
        );
    } else {
      const id = plainId(v.messageId);
      if (id !== undefined) req.messageId = id;
    }
  }
  return req;
}
