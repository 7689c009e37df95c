/**
 * Errors that mean a transaction lost a race with another one (processes sharing a database):
 * deadlock detected (40P01), serialization failure (40001), or a unique key another transaction
 * took first (23505). Running the transaction again resolves them.
 */
const CONTENTION = new Set(["40P01", "40001", "23505"]);

export function isContention(e: unknown): boolean {
  const code = typeof e === "object" && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof code === "string" && CONTENTION.has(code);
}

/**
 * Thrown by a transaction that finds, once it holds its locks, that another one changed what it
 * planned its locks from: a serialization failure, so it is run again like one.
 */
export class LostRace extends Error {
  readonly code = "40001";
}
