import { type Condition, leavesOf } from "./condition.js";
import type { ModelSpec } from "./model-schema.js";
import type { FieldIssue } from "./schema-issues.js";

export const BUILT_IN_GROUPS = ["engagement", "fit"] as const;

/** The checks that span the model: unique ids and references to groups that exist. */
export function checkReferences(m: ModelSpec): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const groups = new Set<string>([...BUILT_IN_GROUPS, ...Object.keys(m.groups)]);
  const seen = new Map<string, string>();
  const claimId = (id: string, path: (string | number)[]) => {
    const where = seen.get(id);
    if (where)
      issues.push({ path: [...path, "id"], message: `duplicate id '${id}', already used by ${where}` });
    else seen.set(id, path.map(String).join("."));
  };
  const checkGroup = (name: string | undefined, path: (string | number)[]) => {
    if (name !== undefined && !groups.has(name))
      issues.push({ path, message: `unknown score group '${name}'; declare it under groups` });
  };
  const checkScores = (c: Condition, path: (string | number)[]) => {
    for (const leaf of leavesOf(c)) {
      if (leaf.subject === "score" && !groups.has(leaf.key))
        issues.push({ path, message: `unknown score group '${leaf.key}'` });
    }
  };

  m.rules.forEach((r, i) => {
    claimId(r.id, ["rules", i]);
    checkGroup(r.group, ["rules", i, "group"]);
  });
  m.fit.forEach((r, i) => {
    claimId(r.id, ["fit", i]);
    checkGroup(r.group, ["fit", i, "group"]);
  });
  m.qualification.handRaisers.forEach((h, i) => {
    claimId(h.id, ["qualification", "handRaisers", i]);
  });
  m.qualification.disqualifiers.forEach((d, i) => {
    claimId(d.id, ["qualification", "disqualifiers", i]);
  });
  checkScores(m.qualification.mql, ["qualification", "mql"]);
  for (const key of ["reset", "keep"] as const) {
    m.recycle[key].forEach((g, i) => {
      checkGroup(g, ["recycle", key, i]);
    });
  }
  m.recycle.keep.forEach((g, i) => {
    if (m.recycle.reset.includes(g))
      issues.push({ path: ["recycle", "keep", i], message: `'${g}' cannot be both reset and kept` });
  });
  return issues;
}
