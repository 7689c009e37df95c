import { type Document, isNode, LineCounter, parseDocument } from "yaml";
import { type ErrorDetail, QualifyError } from "../../errors.js";
import { checkReferences } from "./check-references.js";
import { type ModelSpec, modelSchema } from "./model-schema.js";
import { type FieldIssue, toFieldIssues } from "./schema-issues.js";

/** `rules[3].decay.halfLife`: the path as a user reads it. */
export function formatPath(path: (string | number)[]): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === "number" ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p),
    "",
  );
}

/** The line of the deepest node that exists along `path` (the offending node, or its nearest parent). */
function lineOf(doc: Document, counter: LineCounter, path: (string | number)[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

/**
 * Parses and validates a model written in YAML. A bad model throws one MODEL_INVALID error that
 * lists every problem, each with the line of the offending node.
 */
export function loadModel(text: string, source = "model"): ModelSpec {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const details = doc.errors.map((e) => ({
      path: "",
      message: e.message.split("\n")[0] ?? e.message,
      line: counter.linePos(e.pos[0]).line,
    }));
    throw new QualifyError("MODEL_INVALID", `${source}: not valid YAML`, details);
  }
  const raw: unknown = doc.toJS();
  const parsed = modelSchema.safeParse(raw, { reportInput: true });
  const issues: FieldIssue[] = parsed.success
    ? checkReferences(parsed.data)
    : parsed.error.issues.flatMap(toFieldIssues);
  if (issues.length > 0) {
    const details: ErrorDetail[] = issues
      .map((i) => ({ path: formatPath(i.path), message: i.message, line: lineOf(doc, counter, i.path) }))
      .sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    const count = details.length === 1 ? "1 error" : `${details.length} errors`;
    throw new QualifyError("MODEL_INVALID", `${source}: the model is invalid (${count})`, details);
  }
  return parsed.data as ModelSpec;
}
