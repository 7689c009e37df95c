import { randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { authenticateWriteKey } from "../api/authenticate.js";
import type { Service } from "../api/service.js";
import type { EventType } from "../engine/index.js";
import { QualifyError } from "../errors.js";
import type { NewEvent } from "./append-events.js";
import { jsonBytes } from "./json-bytes.js";
import { isRecord, MAX_DEPTH, type ParsedEvent, parseSegmentEvent } from "./parse-segment-event.js";
import { segmentBatchSchema, segmentCallSchema } from "./segment-schemas.js";

/**
 * The Segment HTTP Tracking API, drop-in: /v1/identify, track, page, screen, group, alias, batch.
 * A single call answers 200 `{success: true}` or 400 `{field, reason}`. A batch stores its valid
 * events and lists the invalid ones in `rejected` (real SDKs drop a whole batch on a 400), so 400
 * only means the body could not be read at all. A retried `messageId` is stored once, answered 200.
 */

export const EVENT_LIMIT = 32 * 1024;
export const BATCH_LIMIT = 500 * 1024;
export const BATCH_EVENTS = 2500;

const SINGLE: EventType[] = ["identify", "track", "page", "screen", "group", "alias"];

export interface Rejection {
  index: number;
  field: string;
  reason: string;
}

/** A parsed Segment call as the event row ingest appends. */
export function toRow(ws: string, p: ParsedEvent, receivedAt: number): NewEvent {
  return {
    workspaceId: ws,
    kind: "event",
    type: p.input.type,
    userId: p.userId ?? null,
    anonymousId: p.anonymousId ?? null,
    previousId: p.previousId ?? null,
    leadId: null,
    receivedAt,
    input: p.input,
    notify: true,
  };
}

async function store(
  service: Service,
  rows: NewEvent[],
  endpoint: string,
): Promise<{ stored: number; duplicates: number }> {
  const seqs = await service.writer.append(rows);
  let stored = 0;
  for (const s of seqs) if (s !== null) stored++;
  service.metrics.ingested.inc({ endpoint }, stored);
  if (rows.length > stored) service.metrics.duplicates.inc(rows.length - stored);
  return { stored, duplicates: rows.length - stored };
}

function reject(field: string, reason: string): never {
  throw new QualifyError("INPUT_INVALID", `${field}: ${reason}`, [{ path: field, message: reason }]);
}

/**
 * The routes' schemas document the calls (OpenAPI) but do not validate them: every field is checked
 * once, by `parseSegmentEvent`, which names the field and keeps a batch's valid events. What the
 * schemas checked (the body is an object; a batch's `batch` is an array) is checked here and
 * answered as their validation was: 400 INPUT_INVALID naming `body` or `batch`, counted as `body`.
 */
const noValidation = () => () => true;
const shapeErrors = new WeakSet<QualifyError>();
function badShape(field: "body" | "batch", reason: string): never {
  const e = new QualifyError("INPUT_INVALID", "invalid body", [{ path: field, message: reason }]);
  shapeErrors.add(e);
  throw e;
}

/** The fields a rejection can name; anything else is counted as `other` (labels must stay few). */
const KNOWN_FIELDS = new Set([
  "(event)",
  "(body)",
  "body",
  "batch",
  "type",
  "userId",
  "anonymousId",
  "messageId",
  "timestamp",
  "originalTimestamp",
  "sentAt",
  "receivedAt",
  "event",
  "name",
  "properties",
  "traits",
  "traits.email",
  "context",
  "groupId",
  "previousId",
]);
const reasonLabel = (field: string) => (KNOWN_FIELDS.has(field) ? field : "other");

/** A whole request refused: counted by field for a bad event, else by error code. */
function requestRejection(e: unknown): string {
  if (!(e instanceof QualifyError))
    return (e as { statusCode?: number }).statusCode === 400 ? "body" : "error";
  if (shapeErrors.has(e)) return "body";
  const field = e.details[0]?.path;
  if (e.code === "PAYLOAD_TOO_LARGE" && field === "batch") return "batch-too-many-events";
  if (e.code === "INPUT_INVALID" && field !== undefined) return reasonLabel(field);
  return e.code.toLowerCase();
}

declare module "fastify" {
  interface FastifyRequest {
    /** The workspace of the request's write key (ingest routes). */
    workspaceId: string | null;
  }
}

export function segmentRoutes(app: FastifyInstance, service: Service): void {
  app.decorateRequest("workspaceId", null);
  // The write key is checked once the body is read (it may be in the body) and before the body's
  // shape is: a request without a valid key gets 401 whatever it sends.
  const preValidation = async (req: FastifyRequest) => {
    req.workspaceId = await authenticateWriteKey(service, req);
  };
  const onError = async (_req: FastifyRequest, _reply: FastifyReply, e: Error) => {
    service.metrics.rejected.inc({ reason: requestRejection(e) });
  };
  for (const type of SINGLE) {
    app.post(
      `/v1/${type}`,
      {
        config: { bodyLimit: EVENT_LIMIT },
        logLevel: "warn",
        validatorCompiler: noValidation,
        preValidation,
        onError,
        schema: {
          tags: ["ingest"],
          summary: `Segment ${type} call: 200 {success: true}, or 400 {field, reason}`,
          security: [{ writeKey: [] }],
          body: segmentCallSchema,
        },
      },
      async (req: FastifyRequest, reply: FastifyReply) => {
        const ws = req.workspaceId as string;
        const receivedAt = service.clock();
        if (!isRecord(req.body)) badShape("body", "expected a JSON object");
        const raw: Record<string, unknown> = { ...req.body, type };
        if (raw.messageId === undefined) raw.messageId = randomUUID();
        const parsed = parseSegmentEvent(raw, receivedAt);
        if (!parsed.ok) reject(parsed.field, parsed.reason);
        await store(service, [toRow(ws, parsed.event, receivedAt)], type);
        return reply.send({ success: true });
      },
    );
  }

  app.post(
    "/v1/batch",
    {
      config: { bodyLimit: BATCH_LIMIT },
      logLevel: "warn",
      validatorCompiler: noValidation,
      preValidation,
      onError,
      schema: {
        tags: ["ingest"],
        summary: "Segment batch: up to 2,500 events and 500 KB; valid events are stored, invalid ones listed",
        security: [{ writeKey: [] }],
        body: segmentBatchSchema,
      },
    },
    async (req: FastifyRequest, reply: FastifyReply) => {
      const ws = req.workspaceId as string;
      const receivedAt = service.clock();
      const body = req.body;
      if (!isRecord(body)) badShape("body", "expected a JSON object with a batch array");
      if (!Array.isArray(body.batch)) badShape("batch", "expected an array of events");
      const batch = body.batch as unknown[];
      if (batch.length > BATCH_EVENTS) {
        throw new QualifyError(
          "PAYLOAD_TOO_LARGE",
          `a batch holds at most ${BATCH_EVENTS} events, got ${batch.length}`,
          [{ path: "batch", message: `more than ${BATCH_EVENTS} events` }],
        );
      }
      const shared = isRecord(body.context) ? body.context : undefined;
      const rows: NewEvent[] = [];
      const rejected: Rejection[] = [];
      for (let index = 0; index < batch.length; index++) {
        const item = batch[index];
        const no = (field: string, reason: string) => {
          rejected.push({ index, field, reason });
          service.metrics.rejected.inc({ reason: reasonLabel(field) });
        };
        if (!isRecord(item)) {
          no("(event)", "expected a JSON object");
          continue;
        }
        let size = jsonBytes(item, MAX_DEPTH);
        if (size < 0) {
          // Deeper than any storable event (or odd): measured by JSON.stringify itself, which
          // overflows the stack on an event nested tens of thousands of levels deep.
          try {
            size = Buffer.byteLength(JSON.stringify(item));
          } catch {
            no("(event)", "nested too deeply");
            continue;
          }
        }
        if (size > EVENT_LIMIT) {
          no("(event)", "over the 32 KB event limit");
          continue;
        }
        let raw = item;
        if (
          item.messageId === undefined ||
          (item.sentAt === undefined && body.sentAt !== undefined) ||
          shared
        ) {
          raw = { ...item };
          // A call without a messageId gets one: only a messageId makes a retry count once.
          if (raw.messageId === undefined) raw.messageId = randomUUID();
          // The batch's sentAt and context apply to each event that has none of its own.
          if (raw.sentAt === undefined && body.sentAt !== undefined) raw.sentAt = body.sentAt;
          if (shared)
            raw.context = isRecord(raw.context) ? { ...shared, ...raw.context } : (raw.context ?? shared);
        }
        const parsed = parseSegmentEvent(raw, receivedAt);
        if (!parsed.ok) {
          no(parsed.field, parsed.reason);
          continue;
        }
        rows.push(toRow(ws, parsed.event, receivedAt));
      }
      const { stored, duplicates } = await store(service, rows, "batch");
      return reply.send({ success: true, accepted: stored, duplicates, rejected });
    },
  );
}
