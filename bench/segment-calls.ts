import type { Dataset } from "./generate-events.js";

/** A Segment call as an SDK sends it (the body of /v1/track, /v1/identify… or an item of /v1/batch). */
export type SegmentCall = Record<string, unknown> & { type: string; messageId: string; timestamp: string };

/**
 * The dataset's Segment calls (stage facts left out: they come through the API), as a browser and a
 * backend send them: anonymousId always, userId from the lead's first identify on. Sorted by time,
 * so leads interleave as they do live. `prefix` keeps the ids of two runs apart.
 */
export function segmentCalls(data: Dataset, prefix = "b"): SegmentCall[] {
  const calls: SegmentCall[] = [];
  data.leads.forEach((inputs, i) => {
    const anonymousId = `${prefix}-anon-${i}`;
    let userId: string | undefined;
    for (const input of inputs) {
      if (input.kind !== "event") continue;
      if (input.type === "identify") userId = `${prefix}-user-${i}`;
      calls.push({
        type: input.type,
        messageId: `${prefix}-${input.id}`,
        timestamp: new Date(input.at).toISOString(),
        anonymousId,
        ...(userId ? { userId } : {}),
        ...(input.event ? { event: input.event } : {}),
        ...(input.name ? { name: input.name } : {}),
        ...(input.properties ? { properties: input.properties } : {}),
        ...(input.traits ? { traits: input.traits } : {}),
        ...(input.groupId ? { groupId: input.groupId } : {}),
        ...(input.context ? { context: input.context } : {}),
      });
    }
  });
  return calls.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
}
