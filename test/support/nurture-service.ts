import { expect } from "vitest";
import { postIngest } from "./live-checks.js";
import { SmtpSink } from "./smtp-sink.js";
import { startTestService, type TestService } from "./test-service.js";

/** A marketing email attempt as `GET /api/email/attempts` lists it. */
export interface Attempt {
  id: string;
  leadId: string;
  enrollmentId: string;
  step: string;
  to: string;
  messageId: string;
  status: string;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  smtpResponse: string | null;
  sentAt: string | null;
}

export interface NurtureSetup {
  /** The service clock's start (the test moves `clock.now`). */
  now: number;
  /** SMTP_URL; by default a sink started for the test. */
  smtpUrl?: string;
  settings?: Record<string, unknown>;
  templates: readonly string[];
  sequence: string;
  env?: Record<string, string>;
}

/**
 * The real service on a database of its own, on a clock the test moves, with nurture set up
 * through the API: settings (a postal address, opt-in, no quiet hours unless given), templates and
 * one sequence; and a real SMTP sink unless `smtpUrl` says where to send. `cleanup` gets what
 * to close.
 */
export async function startNurtureService(
  kind: "pglite" | "postgres",
  cleanup: (() => Promise<unknown>)[],
  o: NurtureSetup,
) {
  const clock = { now: o.now };
  let smtp: SmtpSink | null = null;
  if (!o.smtpUrl) {
    smtp = await SmtpSink.start();
    const s = smtp;
    cleanup.push(() => s.close());
  }
  const service: TestService = await startTestService(kind, {
    clock: () => clock.now,
    env: {
      SMTP_URL: o.smtpUrl ?? (smtp as SmtpSink).url,
      QUALIFY_SMTP_FROM: "Acme <news@acme.example>",
      ...o.env,
    },
  });
  cleanup.push(() => service.close());
  const settings = await service.api("PUT", "/api/nurture/settings", {
    postalAddress: "Acme Inc., 5 Main Street, Springfield",
    defaultConsent: "opt-in",
    quietHours: null,
    ...o.settings,
  });
  expect(settings.status, JSON.stringify(settings.body)).toBe(200);
  for (const source of o.templates) {
    const saved = await service.api("POST", "/api/templates", { source });
    expect(saved.status, JSON.stringify(saved.body)).toBe(201);
  }
  const seq = await service.api("POST", "/api/sequences", { source: o.sequence });
  expect(seq.status, JSON.stringify(seq.body)).toBe(201);

  /** Processes what was ingested, runs due jobs, then sends due email (and follows up on it). */
  const settle = async () => {
    await service.drain();
    await service.service.scheduler.runDue(clock.now);
    await service.service.email.runDue(clock.now);
    await service.drain();
    await service.service.scheduler.runDue(clock.now);
  };
  const ingest = async (batch: Record<string, unknown>[]) => {
    const answer = await postIngest(service, "/v1/batch", { batch });
    expect(answer.rejected, JSON.stringify(answer.rejected)).toEqual([]);
    await settle();
  };
  /** Identify (with consent unless told) and a form: the default model makes it a lead. */
  const becomeLead = async (
    userId: string,
    traits: Record<string, unknown>,
    context: Record<string, unknown> = {},
  ) => {
    const t = clock.now;
    await ingest([
      {
        type: "identify",
        userId,
        traits: { email_consent: true, ...traits },
        context,
        timestamp: new Date(t - 2000).toISOString(),
      },
      { type: "track", userId, event: "Form Submitted", timestamp: new Date(t - 1000).toISOString() },
    ]);
    const lead = (await service.api("GET", `/api/leads?email=${traits.email}`)).body.items[0];
    expect(lead?.stage).toBe("lead");
    return lead.id as string;
  };
  const attempts = async (leadId: string): Promise<Attempt[]> =>
    (await service.api("GET", `/api/email/attempts?lead=${leadId}`)).body.attempts;
  const nurture = async (leadId: string) => (await service.api("GET", `/api/leads/${leadId}/nurture`)).body;
  return { clock, smtp: smtp as SmtpSink, service, settle, ingest, becomeLead, attempts, nurture };
}
