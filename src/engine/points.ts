/**
 * Points are held as integer hundredths ("cents") so that sums and threshold comparisons are exact.
 * Effective points are rounded half-to-even to hundredths when a score is evaluated.
 */

/** Rounds to the nearest integer, ties to even. */
export function roundHalfEven(x: number): number {
  const n = Math.floor(x);
  const diff = x - n;
  if (diff > 0.5) return n + 1;
  if (diff < 0.5) return n;
  return n % 2 === 0 ? n : n + 1;
}

export function toCents(points: number): number {
  return Math.round(points * 100);
}

export function fromCents(cents: number): number {
  return cents / 100;
}

/** True when a number has at most two decimals, so it converts to cents without loss. */
export function hasCentPrecision(points: number): boolean {
  return Number.isFinite(points) && Math.abs(points * 100 - Math.round(points * 100)) < 1e-7;
}
