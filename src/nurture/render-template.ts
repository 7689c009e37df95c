import { LiquidError, type Template } from "liquidjs";
import { QualifyError } from "../errors.js";
import type { LeadView } from "./lead-view.js";
import {
  liquidFor,
  parsedParts,
  TEMPLATE_PARTS,
  type TemplatePart,
  type TemplateSpec,
} from "./template-spec.js";

/**
 * Renders a checked template for one lead: pure and synchronous, the parts parsed once per spec.
 * The HTML part escapes every value; the subject and the text part do not (the subject is also
 * folded onto one line). A missing value renders as its `default:` or as nothing, never as
 * "undefined" or "null".
 */

export interface TemplateVars {
  trait: Record<string, unknown>;
  account: Record<string, unknown>;
  lead: { email: string | null; name: string | null; first_name: string | null };
  unsubscribe_url: string;
  postal_address: string;
  /** From the workspace's From address; absent: `sender.*` renders empty. */
  sender?: { name: string | null; address: string | null };
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

export function renderTemplate(spec: TemplateSpec, vars: TemplateVars): RenderedEmail {
  const parts = parsedParts(spec);
  const out = { subject: "", html: "", text: "" };
  for (const part of TEMPLATE_PARTS) out[part] = renderPart(spec, part, parts[part], vars);
  // A value with a line break must never start a new header.
  out.subject = out.subject.replace(/\s+/g, " ").trim();
  return out;
}

function renderPart(spec: TemplateSpec, part: TemplatePart, parsed: Template[], vars: TemplateVars): string {
  try {
    return String(liquidFor(part).renderSync(parsed, vars, { strictVariables: false }));
  } catch (e) {
    if (!LiquidError.is(e)) throw e;
    const message = e.message.replace(/, line:\d+, col:\d+$/, "");
    throw new QualifyError("TEMPLATE_INVALID", `template ${spec.id}: ${part} does not render: ${message}`, [
      { path: part, message },
    ]);
  }
}

const text = (v: unknown): string | null => (typeof v === "string" && v.trim() !== "" ? v.trim() : null);

/** The lead's first name: its `first_name` (or `firstName`) trait, else the first word of its name. */
export function firstNameOf(traits: Record<string, unknown>, name: string | null): string | null {
  return text(traits.first_name) ?? text(traits.firstName) ?? text(name)?.split(/\s+/)[0] ?? null;
}

/** `Acme <news@acme.example>` → its display name and address. */
export function senderOf(from: string): { name: string | null; address: string | null } {
  const m = /^\s*"?([^"<]*?)"?\s*<([^>]+)>\s*$/.exec(from);
  if (m) return { name: text(m[1]), address: text(m[2]) };
  return { name: null, address: text(from) };
}

/** The variables of one lead, as a send or a preview gives them. */
export function templateVarsFor(
  lead: Pick<LeadView, "email" | "name" | "traits" | "account">,
  extra: { unsubscribeUrl: string; postalAddress: string; from?: string },
): TemplateVars {
  const name = lead.name ?? text(lead.traits.name);
  return {
    trait: lead.traits,
    account: lead.account,
    lead: {
      email: lead.email ?? text(lead.traits.email),
      name,
      first_name: firstNameOf(lead.traits, name),
    },
    unsubscribe_url: extra.unsubscribeUrl,
    postal_address: extra.postalAddress,
    ...(extra.from ? { sender: senderOf(extra.from) } : {}),
  };
}
