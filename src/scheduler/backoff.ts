/** How long a failed job waits before its next attempt. */
export interface Backoff {
  /** The wait after the first failure, doubled after each later one... */
  baseMs: number;
  /** ...up to this. */
  capMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 10_000, capMs: 3_600_000 };

/**
 * Exponential backoff with "equal jitter": after failure `attempt` (1, 2, …) the wait is
 * `min(cap, base·2^(attempt-1))`, of which the upper half is random, so that jobs that failed
 * together do not all retry together. `random` returns [0, 1) (tests pass a fixed one).
 */
export function retryDelay(attempt: number, backoff: Backoff, random: () => number): number {
  const exp = Math.min(backoff.capMs, backoff.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (random() * exp) / 2);
}
