import type { FieldIssue } from "./schema-issues.js";

export const BUILT_IN_GROUPS = ["engagement", "fit"] as const;
/** Rule ids that explanations use for group clamps. */
const RESERVED_IDS = new Set(["cap", "floor"]);

type Path = (string | number)[];
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const at = (v: unknown, key: string): unknown => (isRecord(v) ? v[key] : undefined);

/** Every `score:` leaf in a raw condition, with its path. */
function scoreLeaves(c: unknown, path: Path, out: [string, Path][]): void {
  if (Array.isArray(c)) {
    c.forEach((x, i) => {
      scoreLeaves(x, [...path, i], out);
    });
  } else if (isRecord(c)) {
    for (const [k, v] of Object.entries(c)) {
      if (k === "score" && typeof v === "string") out.push([v, [...path, k]]);
      else if (k === "all" || k === "any" || k === "not") scoreLeaves(v, [...path, k], out);
    }
  }
}

/**
 * The checks that span the model: unique ids and references to score groups that exist. They read
 * the raw document defensively, so that they report alongside the schema's own errors.
 */
export function checkReferences(raw: unknown): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const declared = isRecord(at(raw, "groups")) ? Object.keys(at(raw, "groups") as object) : [];
  const groups = new Set<string>([...BUILT_IN_GROUPS, ...declared]);
  const seen = new Map<string, string>();
  const claimId = (id: unknown, path: Path) => {
    if (typeof id !== "string") return;
    const where = seen.get(id);
    if (RESERVED_IDS.has(id))
      issues.push({ path, message: `'${id}' is reserved for group clamps; choose another id` });
    else if (where) issues.push({ path, message: `duplicate id '${id}', already used by ${where}` });
    else seen.set(id, path.slice(0, -1).map(String).join("."));
  };
  const checkGroup = (name: unknown, path: Path) => {
    if (typeof name === "string" && !groups.has(name))
      issues.push({ path, message: `unknown score group '${name}'; declare it under groups` });
  };

  for (const key of ["rules", "fit"] as const) {
    list(at(raw, key)).forEach((r, i) => {
      claimId(at(r, "id"), [key, i, "id"]);
      checkGroup(at(r, "group"), [key, i, "group"]);
    });
  }
  const q = at(raw, "qualification");
  for (const key of ["handRaisers", "disqualifiers"] as const) {
    list(at(q, key)).forEach((h, i) => {
      claimId(at(h, "id"), ["qualification", key, i, "id"]);
    });
  }
  const leaves: [string, Path][] = [];
  scoreLeaves(at(q, "mql"), ["qualification", "mql"], leaves);
  for (const [name, path] of leaves)
    if (!groups.has(name)) issues.push({ path, message: `unknown score group '${name}'` });

  const recycle = at(raw, "recycle");
  for (const key of ["reset", "keep"] as const) {
    list(at(recycle, key)).forEach((g, i) => {
      checkGroup(g, ["recycle", key, i]);
    });
  }
  const reset = list(at(recycle, "reset"));
  list(at(recycle, "keep")).forEach((g, i) => {
    if (reset.includes(g))
      issues.push({ path: ["recycle", "keep", i], message: `'${String(g)}' cannot be both reset and kept` });
  });
  return issues;
}
