import { readFileSync } from "node:fs";
import { parseModel } from "../engine/index.js";
import type { CompiledModel } from "../engine/model/compile-model.js";
import { type ErrorDetail, QualifyError } from "../errors.js";
import { type ParsedEvent, parseSegmentEvent } from "../ingest/parse-segment-event.js";

export function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new QualifyError(
      "FILE_UNREADABLE",
      `${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
}

export function readModelFile(file: string): CompiledModel {
  return parseModel(readText(file), file);
}

const MAX_REPORTED = 50;

/**
 * Reads Segment calls, one JSON object per line. Every bad line is reported with its number and
 * reason; a file with any bad line is rejected as a whole.
 */
export function readEventsFile(file: string): ParsedEvent[] {
  const events: ParsedEvent[] = [];
  const errors: ErrorDetail[] = [];
  const lines = readText(file).split("\n");
  lines.forEach((text, i) => {
    if (text.trim() === "") return;
    const line = i + 1;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      errors.push({ path: `${file}:${line}`, message: `invalid JSON (${(e as Error).message})` });
      return;
    }
    const r = parseSegmentEvent(raw);
    if (r.ok) events.push(r.event);
    else errors.push({ path: `${file}:${line}`, message: `${r.field}: ${r.reason}` });
  });
  if (errors.length > 0) {
    const shown = errors.slice(0, MAX_REPORTED);
    const more = errors.length - shown.length;
    throw new QualifyError(
      "INPUT_INVALID",
      `${file}: ${errors.length} bad line(s)${more > 0 ? `, the first ${MAX_REPORTED} shown` : ""}`,
      shown,
    );
  }
  return events;
}

export function parseTime(text: string, flag: string): number {
  const ms = Date.parse(text);
  if (!Number.isFinite(ms))
    throw new QualifyError(
      "INPUT_INVALID",
      `${flag}: expected an ISO-8601 time such as 2026-11-01T12:00:00Z, got '${text}'`,
    );
  return ms;
}
