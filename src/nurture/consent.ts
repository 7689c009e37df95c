import type { EventInput } from "../engine/types.js";
import type { NurtureSettings } from "./nurture-settings.js";

/**
 * Email consent from what a lead's events say: a trait (`email_consent` by default: true/false or
 * granted/denied, opt-in/opt-out, yes/no), or Segment's `context.consent.categoryPreferences` for
 * the marketing category. Pure: the nurture job records each change it finds as a fact.
 */

export interface ConsentChange {
  granted: boolean;
  source: "trait" | "context";
  inputId: string;
  at: number;
}

const GRANTED = new Set(["true", "granted", "yes", "opt-in", "optin", "subscribed", "1"]);
const DENIED = new Set(["false", "denied", "no", "opt-out", "optout", "unsubscribed", "0"]);

/** A stated consent value as a boolean; anything unclear is no statement at all. */
export function readConsent(v: unknown): boolean | undefined {
  if (typeof v === "boolean") return v;
  if (typeof v !== "string" && typeof v !== "number") return undefined;
  const s = String(v).trim().toLowerCase();
  if (GRANTED.has(s)) return true;
  if (DENIED.has(s)) return false;
  return undefined;
}

function fromContext(e: EventInput, category: string): boolean | undefined {
  const consent = e.context?.consent as { categoryPreferences?: Record<string, unknown> } | undefined;
  const prefs = consent?.categoryPreferences;
  if (typeof prefs !== "object" || prefs === null) return undefined;
  return readConsent(prefs[category]);
}

/**
 * The consent statements in these events, in order, that change what was known before (`current`:
 * null when nothing was stated yet). Within one event a trait wins over the context.
 */
export function consentChanges(
  events: readonly EventInput[],
  current: boolean | null,
  settings: Pick<NurtureSettings, "consentTrait" | "consentCategory">,
): ConsentChange[] {
  const out: ConsentChange[] = [];
  let known = current;
  for (const e of events) {
    const trait = readConsent(e.traits?.[settings.consentTrait]);
    const context = fromContext(e, settings.consentCategory);
    const granted = trait ?? context;
    if (granted === undefined || granted === known) continue;
    out.push({ granted, source: trait !== undefined ? "trait" : "context", inputId: e.id, at: e.at });
    known = granted;
  }
  return out;
}

/** Whether marketing email may go: a stated consent, else the workspace default. */
export function consentGranted(
  stated: boolean | null,
  settings: Pick<NurtureSettings, "defaultConsent">,
): boolean {
  return stated ?? settings.defaultConsent === "opt-out";
}
