import { type Document, isMap, isNode, isScalar, LineCounter, parseDocument } from "yaml";
import type * as z from "zod";
import { type ErrorCode, type ErrorDetail, QualifyError } from "../../errors.js";
import { type FieldIssue, toFieldIssues } from "./schema-issues.js";

/** `rules[3].decay.halfLife`: the path as a user reads it. */
export function formatPath(path: (string | number)[]): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === "number" ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p),
    "",
  );
}

/**
 * The line of the offending node: the key of a map entry (so that a block-style value points at
 * its key), an item of a list, or for a missing field the nearest node that exists.
 */
function lineOf(doc: Document, counter: LineCounter, path: (string | number)[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    if (n > 0) {
      const parent = doc.getIn(path.slice(0, n - 1), true);
      const last = String(path[n - 1]);
      if (isMap(parent)) {
        const key = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === last)?.key;
        if (isNode(key) && key.range) return counter.linePos(key.range[0]).line;
      }
    }
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

/**
 * Parses YAML and validates it against a schema (plus `check`, for what a schema cannot say). A bad
 * document throws one error of `code` that lists every problem, each with its field path and the
 * line of the offending node. Models and routing rules are loaded this way.
 */
export function loadYaml<T>(
  text: string,
  schema: z.ZodType<T>,
  opts: { source: string; code: ErrorCode; what: string; check?: (raw: unknown) => FieldIssue[] },
): T {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const details = doc.errors.map((e) => ({
      path: "",
      message: e.message.split("\n")[0] ?? e.message,
      line: counter.linePos(e.pos[0]).line,
    }));
    throw new QualifyError(opts.code, `${opts.source}: not valid YAML`, details);
  }
  const raw: unknown = doc.toJS();
  const parsed = schema.safeParse(raw, { reportInput: true });
  const issues: FieldIssue[] = [
    ...(parsed.success ? [] : parsed.error.issues.flatMap(toFieldIssues)),
    ...(opts.check?.(raw) ?? []),
  ];
  if (issues.length > 0 || !parsed.success) {
    const details: ErrorDetail[] = issues
      .map((i) => ({ path: formatPath(i.path), message: i.message, line: lineOf(doc, counter, i.path) }))
      .sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    const count = details.length === 1 ? "1 error" : `${details.length} errors`;
    throw new QualifyError(opts.code, `${opts.source}: ${opts.what} is invalid (${count})`, details);
  }
  return parsed.data;
}
