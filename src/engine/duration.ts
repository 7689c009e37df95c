const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(s|m|h|d|w)$/;

/** Parses a duration such as `30d`, `12h`, `90m`, `2w` or `45s` into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION_PATTERN.exec(text);
  if (!m?.[1] || !m[2]) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return ms > 0 ? Math.round(ms) : undefined;
}

/** The shortest exact spelling of a duration, for summaries. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ["w", UNIT_MS.w],
    ["d", UNIT_MS.d],
    ["h", UNIT_MS.h],
    ["m", UNIT_MS.m],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms / 1000}s`;
}
