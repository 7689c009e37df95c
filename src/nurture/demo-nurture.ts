import type { GenEvent, GenProfile } from "../analytics/generate-history.js";
import { Random } from "../analytics/random.js";
import type { HistoryExtension } from "../analytics/write-history.js";
import type { Database, Queryable } from "../db/database.js";
import { insertRows } from "../db/insert-rows.js";
import { scheduleJobs } from "../scheduler/schedule-job.js";
import { stepMessageId, trackedLinks, UNSUBSCRIBE_PLACEHOLDER } from "./email/compose-email.js";
import { EMAIL_EVENTS } from "./email/email-events.js";
import { STEP_JOB } from "./enrollments.js";
import { renderTemplate, templateVarsFor } from "./render-template.js";
import type { StepSpec } from "./sequence-spec.js";
import { saveSequence } from "./sequence-store.js";
import { ATTEMPT_COLUMNS } from "./step-writes.js";
import type { TemplateSpec } from "./template-spec.js";
import { saveTemplate } from "./template-store.js";
import { unsubscribe } from "./unsubscribe.js";

/**
 * The demo's nurture (`qualify demo`): a welcome sequence of three emails, saved paused (it sends
 * nothing until someone configures SMTP and runs it), and its history over the generated leads as
 * the runner would have left it: enrollments, sent emails rendered from the real templates, opens,
 * clicks and unsubscribes, and the `Email Opened`, `Email Clicked` and `Unsubscribed` events
 * among the leads' own, so that the model scores them. Seeded: the same demo gives the same
 * history.
 */

const MIN = 60_000;
const HOUR = 60 * MIN;
const POSTAL = "Acme Inc., 1 Demo Street, Springfield";

interface DemoEmail {
  id: string;
  name: string;
  subject: string;
  /** The page the email links to. */
  link: string;
  body: string;
}

const EMAILS: DemoEmail[] = [
  {
    id: "tpl-welcome",
    name: "Welcome",
    subject: "Welcome to Acme, {{ lead.first_name | default: 'there' }}",
    link: "/product",
    body: "Thanks for signing up. Here is how teams like {{ account.name | default: 'yours' }} score leads.",
  },
  {
    id: "tpl-case-study",
    name: "Case study",
    subject: "How a team like yours doubled its MQL→SQL rate",
    link: "/customers",
    body: "A customer story: fewer, better MQLs, and a sales team that trusts them.",
  },
  {
    id: "tpl-pricing",
    name: "Pricing",
    subject: "Plans for {{ account.name | default: 'your team' }}",
    link: "/pricing",
    body: "Our plans, and a 30-minute walk-through if you would like one.",
  },
];

const templateSource = (e: DemoEmail) => `id: ${e.id}
name: ${e.name}
subject: "${e.subject}"
html: |
  <p>Hi {{ lead.first_name | default: "there" }},</p>
  <p>${e.body} <a href="https://acme.example${e.link}">Read more</a>.</p>
  <p><a href="{{ unsubscribe_url }}">Unsubscribe</a> · {{ postal_address }}</p>
text: |
  Hi {{ lead.first_name | default: "there" }},
  ${e.body} https://acme.example${e.link}
  Unsubscribe: {{ unsubscribe_url }}
  {{ postal_address }}
`;

/** The demo's sequence; the history below walks its saved steps. */
const SEQUENCE = `id: welcome
name: Welcome new leads
description: Three emails over a week for new leads (qualify demo). Paused until SMTP is set up.
entry: { stage: lead }
steps:
  - { id: email-1, send: tpl-welcome }
  - { id: pause-1, wait: 3d }
  - { id: email-2, send: tpl-case-study }
  - { id: pause-2, wait: 4d }
  - { id: email-3, send: tpl-pricing }
`;
const MQL_OR_BEYOND = new Set(["mql", "sal", "sql", "opportunity", "customer", "disqualified"]);

interface Nurtured {
  enrollment: unknown[];
  attempts: unknown[][];
  clicks: unknown[][];
  unsubscribed: { leadId: string; email: string; at: number; attemptId: string } | null;
  job: { id: string; runAt: number } | null;
}

/** What a lead did with one email; times are null when it did not happen (or not by the end). */
interface EmailFate {
  sentAt: number;
  openedAt: number | null;
  clickedAt: number | null;
  unsubscribedAt: number | null;
}

/** A lead's response to an email sent at `t`: engaged leads (keen near 1) open and click more. */
function emailFate(rng: Random, t: number, keen: number): EmailFate {
  const sentAt = t + 2_000;
  const openedAt = rng.chance(0.4 + 0.2 * keen) ? sentAt + rng.exponential(5 * HOUR) : null;
  const clickedAt = openedAt && rng.chance(0.3 + 0.2 * keen) ? openedAt + rng.exponential(3 * MIN) : null;
  const unsubscribedAt = openedAt && rng.chance(0.03) ? openedAt + rng.exponential(10 * MIN) : null;
  return { sentAt, openedAt, clickedAt, unsubscribedAt };
}

/**
 * Saves the templates and the paused sequence, and returns the extension that gives each
 * generated profile its nurture history (`writeHistory`), as of `end`.
 */
export async function demoNurture(
  db: Database,
  ws: string,
  seed: number,
  end: number,
): Promise<HistoryExtension> {
  const specs = new Map<string, { version: number; spec: TemplateSpec; link: string }>();
  for (const email of EMAILS) {
    const t = await saveTemplate(db, ws, templateSource(email), { by: "demo", now: end });
    specs.set(t.id, { version: t.version, spec: t.spec, link: email.link });
  }
  const seq = await saveSequence(db, ws, SEQUENCE, { activate: false, by: "demo", now: end });
  const steps = seq.spec.steps;
  const made = new Map<string, Nurtured>();

  /** One profile's way through the sequence, if it became a lead with consent (4 in 5). */
  const nurture = (p: GenProfile): GenProfile => {
    const rng = new Random(seed * 7919 + Number.parseInt(p.id.slice(1), 36));
    const lead = p.transitions.find((t) => t.to === "lead");
    if (!lead || !rng.chance(0.8)) return p;
    const id = `demo-${p.id}-welcome`;
    const enteredAt = lead.at + MIN;
    // Exits when the lead becomes an MQL (or is disqualified) before a step runs.
    const leaves = p.transitions.find((t) => t.at > enteredAt && MQL_OR_BEYOND.has(t.to));
    const leaving = (at: number) =>
      leaves && leaves.at <= at ? { at: leaves.at, reason: `became ${leaves.to}` } : null;
    const keen = Math.tanh(p.propensity);
    const events: GenEvent[] = [];
    const history: { step: string; kind: string; at: number; outcome: string }[] = [];
    const out: Nurtured = { enrollment: [], attempts: [], clicks: [], unsubscribed: null, job: null };
    const event = (when: number | null, name: string, properties: Record<string, unknown>) => {
      const at = when === null ? null : Math.round(when);
      if (at === null || at > end) return;
      const messageId = `${p.id}-n${events.length}`;
      events.push({
        leadId: p.id,
        messageId,
        type: "track",
        at,
        input: { kind: "event", id: messageId, type: "track", at, event: name, properties },
      });
    };
    const seen = (at: number | null) => (at !== null && at <= end ? Math.round(at) : null);

    // Walk the steps until the history's end, an exit, or the last step.
    let t = enteredAt;
    let index = 0;
    let exit: { at: number; reason: string } | null = null;
    for (; index < steps.length && !exit; index++) {
      const step = steps[index] as StepSpec;
      const due = "wait" in step ? t + step.wait : t;
      exit = leaving(Math.min(due, end));
      if (exit || due > end) break;
      t = due;
      if ("wait" in step) {
        history.push({ step: step.id, kind: "wait", at: t, outcome: "waited" });
        continue;
      }
      if (!("send" in step)) throw new Error(`the demo sequence's step ${step.id} is neither send nor wait`);
      const tpl = specs.get(step.send) as { version: number; spec: TemplateSpec; link: string };
      const rendered = renderTemplate(
        tpl.spec,
        templateVarsFor(
          { email: p.email, name: null, traits: p.traits, account: {} },
          { unsubscribeUrl: UNSUBSCRIBE_PLACEHOLDER, postalAddress: POSTAL },
        ),
      );
      const attemptId = `demo-${p.id}-${step.id}`;
      const fate = emailFate(rng, t, keen);
      const props = { attemptId, sequence: seq.id, step: step.id, template: step.send };
      const url = `https://acme.example${tpl.link}`;
      event(fate.openedAt, EMAIL_EVENTS.opened, props);
      event(fate.clickedAt, EMAIL_EVENTS.clicked, { ...props, url, suspectedBot: false });
      const clickedAt = seen(fate.clickedAt);
      if (clickedAt !== null) out.clicks.push([ws, attemptId, url, clickedAt, false]);
      // A row of ATTEMPT_COLUMNS, then the delivery's outcome.
      out.attempts.push([
        ws,
        attemptId,
        id,
        p.id,
        seq.id,
        step.id,
        step.send,
        tpl.version,
        p.email,
        stepMessageId(id, step.id),
        rendered.subject,
        rendered.html,
        rendered.text,
        trackedLinks(rendered.html).length,
        "sent",
        t,
        t,
        1,
        "250 2.0.0 OK (demo)",
        fate.sentAt,
        seen(fate.openedAt),
        seen(fate.unsubscribedAt),
      ]);
      history.push({ step: step.id, kind: "send", at: t, outcome: `queued ${step.send} v${tpl.version}` });
      const unsubscribedAt = seen(fate.unsubscribedAt);
      if (unsubscribedAt !== null) {
        event(unsubscribedAt, EMAIL_EVENTS.unsubscribed, { email: p.email, method: "link" });
        out.unsubscribed = { leadId: p.id, email: p.email, at: unsubscribedAt, attemptId };
        // Unsubscribing ends the enrollment, unless becoming an MQL ended it first.
        exit = leaving(unsubscribedAt - 1) ?? { at: unsubscribedAt, reason: "unsubscribed" };
      }
    }
    const status = exit ? "exited" : index >= steps.length ? "completed" : "active";
    const next = steps[index];
    const nextRunAt = status !== "active" ? null : next && "wait" in next ? t + next.wait : t;
    if (nextRunAt !== null) out.job = { id, runAt: nextRunAt };
    const endedAt = exit?.at ?? (status === "completed" ? t : null);
    out.enrollment = [
      ws,
      id,
      p.id,
      seq.id,
      seq.version,
      status,
      index,
      next?.id ?? null,
      t,
      nextRunAt,
      JSON.stringify(history),
      enteredAt,
      "entered lead",
      endedAt,
      exit?.reason ?? null,
      endedAt ?? t,
    ];
    made.set(p.id, out);
    if (events.length === 0) return p;
    const all = [...p.events, ...events].sort((a, b) => a.at - b.at);
    return { ...p, events: all, lastEventAt: Math.max(p.lastEventAt, ...events.map((e) => e.at)) };
  };

  const write = async (q: Queryable, profiles: readonly GenProfile[]) => {
    const rows = profiles.flatMap((p) => {
      const r = made.get(p.id);
      made.delete(p.id);
      return r ? [r] : [];
    });
    await writeNurtured(q, ws, rows);
  };
  return { profile: nurture, write };
}

/** Stores the nurtured profiles' rows; an unsubscribe goes through `unsubscribe` as the link's does. */
async function writeNurtured(q: Queryable, ws: string, rows: Nurtured[]): Promise<void> {
  const consented = rows.map((r) => ({
    lead: r.enrollment[2],
    email: r.attempts[0]?.[8] ?? null,
    at: r.enrollment[11],
  }));
  await insertRows(
    q,
    "nurture_leads",
    ["workspace_id", "lead_id", "consent", "consent_source", "consent_at", "updated_at"],
    consented.map((c) => [ws, c.lead, true, "demo", c.at, c.at]),
  );
  await insertRows(
    q,
    "consent_changes",
    ["workspace_id", "lead_id", "email", "granted", "source", "at"],
    consented.map((c) => [ws, c.lead, c.email, true, "demo", c.at]),
  );
  await insertRows(
    q,
    "enrollments",
    [
      "workspace_id",
      "id",
      "lead_id",
      "sequence_id",
      "sequence_version",
      "status",
      "step_index",
      "step_id",
      "step_started_at",
      "next_run_at",
      "history",
      "entered_at",
      "entry_reason",
      "exited_at",
      "exit_reason",
      "updated_at",
    ],
    rows.map((r) => r.enrollment),
  );
  await insertRows(
    q,
    "email_attempts",
    [...ATTEMPT_COLUMNS, "attempts", "smtp_response", "sent_at", "opened_at", "unsubscribed_at"],
    rows.flatMap((r) => r.attempts),
  );
  await insertRows(
    q,
    "email_clicks",
    ["workspace_id", "attempt_id", "url", "at", "suspected_bot"],
    rows.flatMap((r) => r.clicks),
  );
  for (const r of rows)
    if (r.unsubscribed)
      await unsubscribe(q, ws, {
        leadId: r.unsubscribed.leadId,
        email: r.unsubscribed.email,
        source: "unsubscribe",
        detail: `link (${r.unsubscribed.attemptId})`,
        at: r.unsubscribed.at,
      });
  await scheduleJobs(
    q,
    rows.flatMap((r) =>
      r.job
        ? [
            {
              ws,
              kind: STEP_JOB,
              key: `step:${r.job.id}`,
              runAt: r.job.runAt,
              payload: { enrollmentId: r.job.id },
            },
          ]
        : [],
    ),
  );
}
