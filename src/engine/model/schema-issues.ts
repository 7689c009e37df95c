import * as z from "zod";

/** Plain-language messages for zod issues, one per offending node (unknown keys point at the key). */

export interface FieldIssue {
  path: (string | number)[];
  message: string;
}

const show = (v: unknown) => (typeof v === "string" ? `'${v}'` : (JSON.stringify(v) ?? String(v)));

export function toFieldIssues(issue: z.core.$ZodIssue): FieldIssue[] {
  const path = issue.path.map((p) => (typeof p === "number" ? p : String(p)));
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => ({ path: [...path, key], message: "unknown field" }));
    case "invalid_type":
      if (issue.input === undefined) return [{ path, message: "is required" }];
      if (issue.message && !issue.message.startsWith("Invalid input"))
        return [{ path, message: issue.message }];
      return [{ path, message: `expected ${issue.expected}, got ${show(issue.input)}` }];
    case "invalid_value":
      if (issue.message && !issue.message.startsWith("Invalid")) return [{ path, message: issue.message }];
      return [
        { path, message: `expected one of ${issue.values.map(show).join(", ")}, got ${show(issue.input)}` },
      ];
    case "too_small":
      if (issue.origin === "array") return [{ path, message: `expected at least ${issue.minimum} item(s)` }];
      if (issue.origin === "string") return [{ path, message: "must not be empty" }];
      return [
        {
          path,
          message: issue.message.startsWith("Too small")
            ? `must be at least ${issue.minimum}`
            : issue.message,
        },
      ];
    default:
      return [{ path, message: issue.message }];
  }
}

/**
 * A schema whose shape depends on the value, such as "a string shorthand or an object". Unlike
 * `z.union`, the chosen branch's own errors surface with their full paths.
 */
export function dispatch<T>(choose: (v: unknown) => z.ZodType<T>) {
  return z.unknown().transform((v, ctx): T => {
    const result = choose(v).safeParse(v, { reportInput: true });
    if (result.success) return result.data;
    for (const issue of result.error.issues) {
      for (const f of toFieldIssues(issue))
        ctx.addIssue({ code: "custom", message: f.message, path: f.path, input: v });
    }
    return z.NEVER;
  });
}
