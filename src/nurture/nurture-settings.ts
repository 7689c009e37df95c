import * as z from "zod";
import type { Queryable } from "../db/database.js";
import { readState, writeState } from "../db/service-state.js";
import { duration } from "../engine/model/model-schema.js";
import { QualifyError } from "../errors.js";

/**
 * A workspace's nurture settings: who marketing email is from, the postal address every email
 * carries, quiet hours, the frequency cap, the default zone, and what consent is assumed when a
 * lead never stated it (opt-in regions: none; opt-out regions: granted until withdrawn). Stored in
 * `service_state` under `nurture.settings`; every field has a default.
 */
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: "expected a time such as 21:00" });
const zone = z.string().refine((s) => Intl.supportedValuesOf("timeZone").includes(s) || s === "UTC", {
  error: (iss) => `expected an IANA time zone such as Europe/Berlin, got '${String(iss.input)}'`,
});

export const settingsSchema = z.strictObject({
  /** The From of marketing email; unset: QUALIFY_SMTP_FROM. */
  from: z.string().min(3).optional(),
  /**
   * The sender's postal address, in the footer of every marketing email (CAN-SPAM). No sequence
   * runs until it is set.
   */
  postalAddress: z.string().min(5).optional(),
  quietHours: z.strictObject({ start: hhmm, end: hhmm }).nullable().default({ start: "21:00", end: "08:00" }),
  frequencyCap: z
    .strictObject({ max: z.number().int().min(1).max(1000), window: duration })
    .nullable()
    .default({ max: 3, window: 7 * 86_400_000 }),
  defaultTimeZone: zone.default("UTC"),
  /** `opt-in`: no email without a stated grant; `opt-out`: granted unless withdrawn. */
  defaultConsent: z.enum(["opt-in", "opt-out"]).default("opt-in"),
  /** The trait that states consent (true/false, or "granted"/"denied"). */
  consentTrait: z.string().min(1).default("email_consent"),
  /** The Segment consent category (context.consent.categoryPreferences) that covers marketing email. */
  consentCategory: z.string().min(1).default("marketing"),
  /** Clicks this soon after sending are suspected bots (link scanners). */
  botClickWindow: duration.default(10_000),
});

export type NurtureSettings = z.output<typeof settingsSchema>;

const KEY = "nurture.settings";

/** Checks settings as given (with defaults filled); 422 SETTINGS_INVALID naming each field. */
export function parseSettings(raw: unknown): NurtureSettings {
  const parsed = settingsSchema.safeParse(raw ?? {});
  if (!parsed.success)
    throw new QualifyError(
      "SETTINGS_INVALID",
      "the nurture settings are invalid",
      parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
    );
  return parsed.data;
}

export async function loadSettings(tx: Queryable, ws: string): Promise<NurtureSettings> {
  return parseSettings((await readState(tx, ws, KEY)) ?? {});
}

/** Stores the settings as given (a full document: fields left out take their defaults). */
export async function saveSettings(tx: Queryable, ws: string, raw: unknown): Promise<NurtureSettings> {
  const settings = parseSettings(raw);
  await writeState(tx, ws, KEY, raw ?? {});
  return settings;
}

/** A sequence may run only once marketing email can carry the sender's postal address. */
export function requirePostalAddress(settings: NurtureSettings): string {
  if (!settings.postalAddress)
    throw new QualifyError("SETTINGS_INVALID", "set the sender's postal address before running a sequence", [
      {
        path: "postalAddress",
        message:
          "every marketing email must carry it: qualify nurture settings --set FILE (postalAddress: …)",
      },
    ]);
  return settings.postalAddress;
}
