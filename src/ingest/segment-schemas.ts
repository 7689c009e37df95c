import * as z from "zod";

/**
 * The Segment calls' shapes, for the OpenAPI document. They are deliberately loose: the fields are
 * checked by `parse-segment-event.ts`, which answers with the field and the reason, and a batch
 * must keep its valid events when others are bad.
 */
const field = (description: string) => z.unknown().optional().describe(description);

const common = {
  messageId: field("string: unique per call; a retry with the same messageId is stored once"),
  userId: field("string: your id for the person; a call needs userId or anonymousId"),
  anonymousId: field("string: the browser's or device's id"),
  timestamp: field("ISO-8601: when it happened, by the client's clock"),
  sentAt: field("ISO-8601: when the client sent it; corrects the client's clock skew"),
  context: field("object: campaign, page, referrer, timezone, consent, library…"),
  writeKey: field("string: the write key, when it is not sent as Basic auth"),
};

export const segmentCallSchema = z
  .looseObject({
    ...common,
    type: field("identify, track, page, screen, group or alias (the path sets it on single endpoints)"),
    event: field("string: a track call's event name, e.g. Demo Requested"),
    name: field("string: a page or screen call's name"),
    properties: field("object: a track, page or screen call's properties"),
    traits: field("object: an identify call's person traits, or a group call's account traits"),
    groupId: field("string: a group call's account id"),
    previousId: field("string: an alias call's previous id, merged into userId"),
  })
  .describe("a Segment call, as the Segment HTTP Tracking API defines it");

export const segmentBatchSchema = z
  .looseObject({
    batch: z.array(z.unknown()).describe("up to 2,500 calls (each with its type), 500 KB in all"),
    sentAt: common.sentAt,
    context: field("object: merged under each call's own context"),
    writeKey: common.writeKey,
  })
  .describe("a batch of Segment calls");
