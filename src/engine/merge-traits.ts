import type { TraitValue } from "./types.js";

/**
 * Merges a Segment trait object into a profile, per key, keeping only the keys the model reads.
 * Nested objects merge by dotted key (`company.employee_count`), the latest value wins, and `null`
 * clears a key and everything under it. `email_domain` is derived from `email`. Returns whether
 * any kept trait changed (sites send the same identify on every page, which changes nothing).
 */
export function mergeTraits(
  target: Record<string, TraitValue>,
  traits: Record<string, unknown>,
  keys: ReadonlySet<string>,
): boolean {
  let changed = walk(target, traits, "", keys);
  if (changed && keys.has("email_domain")) {
    const email = target.email;
    const at = typeof email === "string" ? email.lastIndexOf("@") : -1;
    if (at >= 0) target.email_domain = (email as string).slice(at + 1).toLowerCase();
    else delete target.email_domain;
    changed = true;
  }
  return changed;
}

function sameValue(a: TraitValue | undefined, b: TraitValue): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
  return a === b;
}

function walk(
  target: Record<string, TraitValue>,
  obj: Record<string, unknown>,
  prefix: string,
  keys: ReadonlySet<string>,
): boolean {
  let changed = false;
  for (const k in obj) {
    if (!Object.hasOwn(obj, k)) continue;
    const v = obj[k];
    const key = prefix + k;
    if (v === null) {
      const under = `${key}.`;
      for (const existing of Object.keys(target)) {
        if (existing === key || existing.startsWith(under)) {
          delete target[existing];
          changed = true;
        }
      }
    } else if (typeof v === "object" && !Array.isArray(v)) {
      if (walk(target, v as Record<string, unknown>, `${key}.`, keys)) changed = true;
    } else if (keys.has(key)) {
      const value = toTraitValue(v);
      if (value !== undefined && !sameValue(target[key], value)) {
        target[key] = value;
        changed = true;
      }
    }
  }
  return changed;
}

function toTraitValue(v: unknown): TraitValue | undefined {
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  if (Array.isArray(v))
    return v.filter((x) => x === null || ["string", "number", "boolean"].includes(typeof x));
  return undefined;
}
