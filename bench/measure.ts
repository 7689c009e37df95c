/** Timing and formatting helpers for the benchmark report. */

export interface Measurement<T> {
  runsMs: number[];
  bestMs: number;
  medianMs: number;
  /** What the last run returned. */
  result: T;
}

/** Runs `work` once to warm up, then `runs` times with a collection before each; reports each time. */
export function measure<T>(work: () => T, runs = 3): Measurement<T> {
  let result: T | undefined = work();
  const runsMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Drop the previous run's output first, so that every run starts with the same live heap.
    result = undefined;
    globalThis.gc?.();
    const t0 = performance.now();
    result = work();
    runsMs.push(performance.now() - t0);
  }
  const sorted = runsMs.slice().sort((a, b) => a - b);
  return {
    runsMs,
    bestMs: sorted[0] as number,
    medianMs: sorted[Math.floor(sorted.length / 2)] as number,
    result: result as T,
  };
}

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export const fmt = (n: number) => integer.format(n);
export const ms = (n: number) => `${n >= 100 ? fmt(n) : n.toFixed(1)} ms`;
export const mb = (bytes: number) => `${fmt(bytes / 2 ** 20)} MB`;
export const verdict = (ok: boolean) => (ok ? "PASS" : "MISS");

/** The value at quantile `q` (0..1) of numbers sorted in ascending order. */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}
