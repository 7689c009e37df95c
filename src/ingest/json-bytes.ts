/**
 * The UTF-8 length of `JSON.stringify(value)` for a value read by `JSON.parse`, without building the
 * string: the per-event size limit is checked on every event of a batch, and the string was thrown
 * away at once (profiled at ~2 µs an event, more than this walk; bench/README.md).
 *
 * Exact: a string of printable ASCII without `"` or `\` is its length plus the quotes; any other
 * string is measured by stringifying it alone. Answers -1 when `value` is nested deeper than
 * `depth` levels or holds something JSON.parse does not make (the caller then stringifies it).
 */
export function jsonBytes(value: unknown, depth: number): number {
  switch (typeof value) {
    case "string":
      return stringBytes(value);
    case "number":
      return Number.isFinite(value) ? String(value).length : 4;
    case "boolean":
      return value ? 4 : 5;
    case "object":
      break;
    default:
      return -1;
  }
  if (value === null) return 4;
  if (depth <= 0) return -1;
  let size = 2;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const n = jsonBytes(value[i], depth - 1);
      if (n < 0) return -1;
      size += i > 0 ? n + 1 : n;
    }
    return size;
  }
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const n = jsonBytes((value as Record<string, unknown>)[key], depth - 1);
    if (n < 0) return -1;
    size += stringBytes(key) + 1 + (i > 0 ? n + 1 : n);
  }
  return size;
}

/** Characters JSON.stringify writes as they are, one byte each. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

const stringBytes = (s: string) => (PLAIN.test(s) ? s.length + 2 : Buffer.byteLength(JSON.stringify(s)));
