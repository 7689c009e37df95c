import { Liquid, LiquidError, type Template, type Variable } from "liquidjs";
import { type Document, isScalar, LineCounter, parseDocument, Scalar } from "yaml";
import * as z from "zod";
import { loadYaml } from "../engine/model/load-yaml.js";
import { id } from "../engine/model/model-schema.js";
import { type ErrorDetail, QualifyError } from "../errors.js";

/**
 * An email template as marketing writes it in YAML: an id, a subject, an HTML part and a text part,
 * each in Liquid. Saving checks the YAML, the Liquid syntax of each part and every variable it
 * reads (only the lead's traits, its account's traits, a few lead fields, the unsubscribe link, the
 * postal address and the sender), and reports every error with its path and its line in the YAML.
 * No part may reach a file: `include`, `render` and `layout` are refused.
 */

export const templateSchema = z.strictObject({
  id,
  name: z.string().min(1).optional(),
  description: z.string().optional(),
  subject: z.string().min(1),
  html: z.string().min(1),
  text: z.string().min(1),
});

export type TemplateSpec = z.output<typeof templateSchema>;
export const TEMPLATE_PARTS = ["subject", "html", "text"] as const;
export type TemplatePart = (typeof TEMPLATE_PARTS)[number];

const NO_FILES = ["include", "render", "layout"];
/** While a part is checked, refused tags are collected here (so that the other checks still run). */
let refused: PartIssue[] | null = null;

function engine(html: boolean): Liquid {
  const liquid = new Liquid({
    templates: {}, // never the file system
    strictFilters: true,
    ownPropertyOnly: true,
    parseLimit: 1_000_000,
    renderLimit: 2_000,
    memoryLimit: 10_000_000,
    ...(html ? { outputEscape: "escape" as const } : {}),
  });
  for (const name of NO_FILES)
    liquid.registerTag(name, {
      parse(token) {
        const message = `the ${name} tag is not available in email templates`;
        if (!refused) throw new Error(message);
        const [row = 1, col = 1] = token.getPosition();
        refused.push({ row, col, message });
      },
      render() {},
    });
  // `raw` would put a lead's traits into the HTML unescaped (traits come from public SDK calls).
  liquid.unregisterFilter("raw");
  return liquid;
}

const NO_RAW = "the raw filter is not available: values are always escaped in the HTML part";
const ENGINES = { html: engine(true), plain: engine(false) };

/** The engine a part renders with: the HTML part escapes every output, the others do not. */
export const liquidFor = (part: TemplatePart): Liquid => (part === "html" ? ENGINES.html : ENGINES.plain);

/** What `lead.*` and `sender.*` offer; `trait.*` and `account.*` take any name. */
const FIELDS: Record<string, readonly string[] | "any" | "none"> = {
  trait: "any",
  account: "any",
  lead: ["email", "name", "first_name"],
  sender: ["name", "address"],
  unsubscribe_url: "none",
  postal_address: "none",
};
const ALLOWED =
  "trait.<name>, account.<name>, lead.email, lead.name, lead.first_name, unsubscribe_url, postal_address, sender.name, sender.address";
const LIKELY: Record<string, string> = {
  traits: "trait",
  accounts: "account",
  company: "account",
  leads: "lead",
};

/** Why a variable may not be read, or undefined when it may. */
function variableProblem(v: Variable): string | undefined {
  const [root, field] = v.segments;
  const name = String(v);
  const fields = typeof root === "string" ? FIELDS[root] : undefined;
  if (fields === undefined) {
    const likely = typeof root === "string" ? LIKELY[root] : undefined;
    if (likely)
      return `unknown variable '${name}' (did you mean ${likely}${name.slice(String(root).length)}?)`;
    return `unknown variable '${name}': a template reads ${ALLOWED}`;
  }
  if (fields === "none") return undefined;
  if (field === undefined)
    return `'${name}' needs a field, such as ${root}.${fields === "any" ? "first_name" : fields[0]}`;
  if (fields !== "any" && (typeof field !== "string" || !fields.includes(field)))
    return `unknown variable '${name}': ${root} has ${fields.join(", ")}`;
  return undefined;
}

interface PartIssue {
  row: number;
  col: number;
  message: string;
}

function checkPart(part: TemplatePart, body: string): PartIssue[] {
  const liquid = liquidFor(part);
  const issues: PartIssue[] = [];
  let parsed: Template[];
  refused = issues;
  try {
    parsed = liquid.parse(body);
  } catch (e) {
    if (!LiquidError.is(e)) throw e;
    const [row = 1, col = 1] = e.token.getPosition();
    const message = e.message.replace(/, line:\d+, col:\d+$/, "");
    return [...issues, { row, col, message: message === "undefined filter: raw" ? NO_RAW : message }];
  } finally {
    refused = null;
  }
  for (const uses of Object.values(liquid.analyzeSync(parsed, { partials: false }).globals))
    for (const v of uses) {
      const message = variableProblem(v);
      if (message) issues.push({ row: v.location.row, col: v.location.col, message });
    }
  return issues;
}

/**
 * Where row/col of a part's text are in the YAML: a literal block (`|`) keeps its lines, a one-line
 * value sits on its key's line; a folded or multi-line value points at its first line.
 */
function yamlPosition(
  doc: Document,
  counter: LineCounter,
  text: string,
  part: TemplatePart,
  issue: PartIssue,
): { line?: number; column?: number } {
  const node = doc.get(part, true);
  if (!isScalar(node) || !node.range) return {};
  const start = counter.linePos(node.range[0]).line;
  const valueLine = String(node.value).split("\n")[issue.row - 1] ?? "";
  const column = (line: number) => {
    const at = (text.split("\n")[line - 1] ?? "").replace(/\r$/, "").lastIndexOf(valueLine);
    return at < 0 ? {} : { column: at + issue.col };
  };
  if (node.type === Scalar.BLOCK_LITERAL) {
    const line = start + issue.row;
    return { line, ...column(line) };
  }
  const oneLine = counter.linePos(node.range[1]).line === start;
  return oneLine && issue.row === 1 ? { line: start, ...column(start) } : { line: start };
}

/** Parses and checks a template's YAML; TEMPLATE_INVALID lists every error with its path and line. */
export function loadTemplate(text: string, source = "template"): TemplateSpec {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const raw: unknown = doc.errors.length > 0 ? undefined : doc.toJS();
  const liquidIssues: ErrorDetail[] = [];
  if (typeof raw === "object" && raw !== null)
    for (const part of TEMPLATE_PARTS) {
      const body = (raw as Record<string, unknown>)[part];
      if (typeof body !== "string") continue;
      for (const issue of checkPart(part, body))
        liquidIssues.push({
          path: part,
          message: issue.message,
          ...yamlPosition(doc, counter, text, part, issue),
        });
    }
  let details: ErrorDetail[] = [];
  let spec: TemplateSpec | undefined;
  try {
    spec = loadYaml(text, templateSchema, { source, code: "TEMPLATE_INVALID", what: "template" });
  } catch (e) {
    if (!(e instanceof QualifyError) || e.code !== "TEMPLATE_INVALID" || doc.errors.length > 0) throw e;
    details = e.details;
  }
  if (spec && liquidIssues.length === 0) return spec;
  const all = [...details, ...liquidIssues].sort(
    (a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0),
  );
  const count = all.length === 1 ? "1 error" : `${all.length} errors`;
  throw new QualifyError("TEMPLATE_INVALID", `${source}: template is invalid (${count})`, all);
}

const parsed = new WeakMap<TemplateSpec, Record<TemplatePart, Template[]>>();

/** A checked template's parts, parsed once per spec object (renders reuse them). */
export function parsedParts(spec: TemplateSpec): Record<TemplatePart, Template[]> {
  let hit = parsed.get(spec);
  if (!hit) {
    hit = {
      subject: liquidFor("subject").parse(spec.subject),
      html: liquidFor("html").parse(spec.html),
      text: liquidFor("text").parse(spec.text),
    };
    parsed.set(spec, hit);
  }
  return hit;
}

/** Every variable a template reads (`trait.first_name`, `unsubscribe_url`, …), sorted, once each. */
export function templateVariables(spec: TemplateSpec): string[] {
  const names = new Set<string>();
  const parts = parsedParts(spec);
  for (const part of TEMPLATE_PARTS)
    for (const name of liquidFor(part).globalFullVariablesSync(parts[part], { partials: false }))
      names.add(name);
  return [...names].sort();
}
