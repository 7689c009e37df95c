import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jsonBytes } from "../../src/ingest/json-bytes.js";

const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v));

describe("jsonBytes", () => {
  it("equals the UTF-8 length of JSON.stringify for anything JSON.parse reads", () => {
    const text = fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.string({ unit: "binary" }));
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        text,
        fc.double(),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie("value"), { maxLength: 5 }),
        fc.dictionary(text, tie("value"), { maxKeys: 5 }),
      ),
    })).value;
    fc.assert(
      fc.property(json, (v) => {
        // Through the text and back, as a request body arrives.
        const parsed: unknown = JSON.parse(JSON.stringify(v));
        expect(jsonBytes(parsed, 64)).toBe(bytes(parsed));
      }),
      { numRuns: 2000 },
    );
  });

  it("measures escapes, non-ASCII text, lone surrogates, exponents and __proto__ keys exactly", () => {
    for (const text of [
      '{"a":"x\\"y\\\\z\\n\\t\\u0001\\u007f"}',
      '{"name":"Zoë — 東京 🚀"}',
      '{"lone":"\\ud800x\\udc00"}',
      '{"n":[1e21,1e-7,-0,1.5e300,123456789012345678901234567890]}',
      '{"__proto__":{"x":1},"toJSON":"not a function"}',
      "[]",
      '""',
    ]) {
      const parsed: unknown = JSON.parse(text);
      expect(jsonBytes(parsed, 64), text).toBe(bytes(parsed));
    }
  });

  it("answers -1 past the depth limit, and for values JSON.parse does not make", () => {
    expect(jsonBytes({ a: { b: { c: 1 } } }, 3)).toBe(bytes({ a: { b: { c: 1 } } }));
    expect(jsonBytes({ a: { b: { c: 1 } } }, 2)).toBe(-1);
    expect(jsonBytes({ a: undefined }, 5)).toBe(-1);
    expect(jsonBytes(1n, 5)).toBe(-1);
  });
});
