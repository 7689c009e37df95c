import type { EventInput, EventType } from "./types.js";

/**
 * A new event input with every optional field present (as undefined) in a fixed order, so that
 * all events share one object shape and the engine's property reads stay monomorphic. Ingest
 * builds events with this; so should anything that feeds the engine in bulk.
 */
export function makeEvent(id: string, at: number, type: EventType): EventInput {
  return {
    kind: "event",
    id,
    at,
    type,
    event: undefined,
    name: undefined,
    properties: undefined,
    traits: undefined,
    context: undefined,
    groupId: undefined,
  };
}
