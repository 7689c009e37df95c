import type { TraitValue } from "./types.js";

/**
 * Merges a Segment trait object into a profile, per key, keeping only the keys the model reads.
 * Nested objects merge by dotted key (`company.employee_count`), the latest value wins, and `null`
 * clears a key and everything under it. `email_domain` is derived from `email`.
 */
export function mergeTraits(
  target: Record<string, TraitValue>,
  traits: Record<string, unknown>,
  keys: ReadonlySet<string>,
): void {
  walk(target, traits, "", keys);
  if (keys.has("email_domain")) {
    const email = target.email;
    const at = typeof email === "string" ? email.lastIndexOf("@") : -1;
    if (at >= 0) target.email_domain = (email as string).slice(at + 1).toLowerCase();
    else delete target.email_domain;
  }
}

function walk(
  target: Record<string, TraitValue>,
  obj: Record<string, unknown>,
  prefix: string,
  keys: ReadonlySet<string>,
): void {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix + k;
    if (v === null) {
      delete target[key];
      const under = `${key}.`;
      for (const existing of Object.keys(target)) if (existing.startsWith(under)) delete target[existing];
    } else if (typeof v === "object" && !Array.isArray(v)) {
      walk(target, v as Record<string, unknown>, `${key}.`, keys);
    } else if (keys.has(key)) {
      const value = toTraitValue(v);
      if (value !== undefined) target[key] = value;
    }
  }
}

function toTraitValue(v: unknown): TraitValue | undefined {
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  if (Array.isArray(v))
    return v.filter((x) => x === null || ["string", "number", "boolean"].includes(typeof x));
  return undefined;
}
