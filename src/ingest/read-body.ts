import type { IncomingMessage } from "node:http";
import type { Transform } from "node:stream";
import { createGunzip, createInflate } from "node:zlib";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { QualifyError } from "../errors.js";

/**
 * Every request body is read here: JSON, whatever the content type says (the RudderStack SDK sends
 * gzip-compressed JSON as `application/x-www-form-urlencoded`), optionally gzip or deflate encoded.
 * The size limit applies to the decompressed bytes as they are inflated, so a gzip bomb is cut off
 * at the limit with 413 and never buffered whole. A route sets its own limit in `config.bodyLimit`.
 */

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

declare module "fastify" {
  interface FastifyContextConfig {
    /** Largest decompressed body, in bytes. */
    bodyLimit?: number;
  }
}

function decoder(encoding: string | undefined): Transform | null {
  switch ((encoding ?? "identity").trim().toLowerCase()) {
    case "identity":
    case "":
      return null;
    case "gzip":
    case "x-gzip":
      return createGunzip();
    case "deflate":
      return createInflate();
    default:
      throw new QualifyError(
        "UNSUPPORTED_MEDIA_TYPE",
        `Content-Encoding ${encoding} is not supported; send gzip, deflate or none`,
        [{ path: "Content-Encoding", message: "expected gzip, deflate or identity" }],
      );
  }
}

const tooLarge = (limit: number) =>
  new QualifyError("PAYLOAD_TOO_LARGE", `body is over ${Math.round(limit / 1024)} KB`, [
    { path: "(body)", message: `over the limit of ${limit} bytes` },
  ]);

export function readBody(req: FastifyRequest, raw: IncomingMessage): Promise<Buffer> {
  const limit = req.routeOptions.config.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    raw.resume();
    return Promise.reject(tooLarge(limit));
  }
  const inflate = decoder(req.headers["content-encoding"]);
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      raw.unpipe();
      inflate?.destroy();
      raw.resume();
      reject(e);
    };
    const out = inflate ?? raw;
    out.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return fail(tooLarge(limit));
      chunks.push(chunk);
    });
    out.on("end", () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks));
    });
    out.on("error", (e) =>
      fail(
        new QualifyError("BODY_UNPARSEABLE", `body could not be decompressed: ${e.message}`, [
          { path: "(body)", message: "invalid or truncated compressed data" },
        ]),
      ),
    );
    raw.on("error", fail);
    raw.on("aborted", () => fail(new QualifyError("BODY_UNPARSEABLE", "request aborted")));
    if (inflate) raw.pipe(inflate);
  });
}

export function parseJson(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new QualifyError("BODY_UNPARSEABLE", `body is not valid JSON: ${(e as Error).message}`, [
      { path: "(body)", message: "not valid JSON" },
    ]);
  }
}

/**
 * Replaces Fastify's parsers: every content type is read as (possibly compressed) JSON, whatever
 * it says (RudderStack's SDK sends gzipped JSON as a form), except NDJSON, kept as text, and real
 * forms (an unsubscribe page's button, RFC 8058 one-click posts), read as fields.
 */
export function registerBodyParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", async (req: FastifyRequest, payload: IncomingMessage) => {
    const text = (await readBody(req, payload)).toString("utf8");
    const type = String(req.headers["content-type"] ?? "");
    if (type.startsWith("application/x-ndjson") || type.startsWith("multipart/form-data")) return text;
    if (type.startsWith("application/x-www-form-urlencoded") && !/^\s*[[{]/.test(text))
      return Object.fromEntries(new URLSearchParams(text));
    return parseJson(text);
  });
}
