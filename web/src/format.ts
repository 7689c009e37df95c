const DAY = 86_400_000;

export const num = (n: number | null | undefined) =>
  n === null || n === undefined ? "–" : n.toLocaleString("en-US");
export const pct = (r: number | null | undefined) =>
  r === null || r === undefined ? "–" : `${(r * 100).toFixed(1)} %`;

/** A duration in the largest unit that keeps it readable. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < DAY) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / DAY).toFixed(1)} d`;
}

export const dateTime = (iso: string | null | undefined) =>
  iso
    ? new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" })
    : "–";
/** "Aug 24": short enough for a chart's axis. */
export const monthDay = (iso: string) =>
  new Date(iso).toLocaleDateString("en-US", { month: "short", day: "numeric", timeZone: "UTC" });

/** [from, to) of the last `days` days, ending tomorrow (UTC), as YYYY-MM-DD. */
export function lastDays(days: number, now = Date.now()): { from: string; to: string } {
  const end = Math.floor(now / DAY) * DAY + DAY;
  return {
    from: new Date(end - days * DAY).toISOString().slice(0, 10),
    to: new Date(end).toISOString().slice(0, 10),
  };
}
