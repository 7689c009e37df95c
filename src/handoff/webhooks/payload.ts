import { createHash } from "node:crypto";
import type { Contribution } from "../../engine/index.js";

/**
 * The notification payload, version 1 (docs/webhooks.md has its JSON schema), and the two other
 * renderings of it: a Slack-compatible message and an email. Built once per outbox message at
 * fan-out; every attempt sends the same bytes.
 */

export const PAYLOAD_VERSION = 1;

/** The payload's `id`: the outbox message's idempotency key, hashed with its workspace. */
export function eventId(ws: string, key: string): string {
  return `evt_${createHash("sha256").update(`${ws}\n${key}`).digest("hex").slice(0, 32)}`;
}

export interface Owner {
  id: string;
  email: string | null;
  name: string | null;
}

/** What the payload says of the lead. */
export interface LeadFacts {
  id: string;
  userId: string | null;
  email: string | null;
  name: string | null;
  stage: string;
  grade: string | null;
  scores: Record<string, number>;
  mqlAt: number | null;
  owner: Owner | null;
  mergedInto: string | null;
}

/** The engine's account of the lead's scores at the message's time. */
export interface Why {
  at: number;
  scores: Record<string, number>;
  grade: string | null;
  contributions: readonly Contribution[];
  /** Event names by message id, for the contributions. */
  events: ReadonlyMap<string, string>;
}

export interface TopContribution {
  group: string;
  rule: string;
  kind: string;
  label?: string;
  event?: string;
  eventId?: string;
  at?: string;
  points: number;
}

export interface PayloadV1 {
  version: 1;
  id: string;
  type: string;
  time: string;
  workspace: string;
  lead:
    | (Omit<LeadFacts, "mqlAt"> & {
        scoresAt: string;
        mqlAt: string | null;
        topContributions: TopContribution[];
      })
    | null;
  /** The message itself, by type (a transition, a handoff, a merge, a score change). */
  data: Record<string, unknown>;
}

/** How many contributions the payload carries: the largest, positive first. */
export const TOP_CONTRIBUTIONS = 5;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function topContributions(why: Why): TopContribution[] {
  return [...why.contributions]
    .filter((c) => c.points !== 0)
    .sort((a, b) => b.points - a.points || a.rule.localeCompare(b.rule))
    .slice(0, TOP_CONTRIBUTIONS)
    .map((c) => {
      const event = c.eventId === undefined ? undefined : why.events.get(c.eventId);
      return {
        group: c.group,
        rule: c.rule,
        kind: c.kind,
        ...(c.label === undefined ? {} : { label: c.label }),
        ...(event === undefined ? {} : { event }),
        ...(c.eventId === undefined ? {} : { eventId: c.eventId }),
        ...(c.at === undefined ? {} : { at: new Date(c.at).toISOString() }),
        points: c.points,
      };
    });
}

/** The time a message is about: its own `at`, else when it was written. */
export function messageTime(data: Record<string, unknown>, createdAt: number): number {
  const at = typeof data.at === "string" ? Date.parse(data.at) : Number.NaN;
  return Number.isFinite(at) ? at : createdAt;
}

export function buildPayload(
  msg: { workspaceId: string; key: string; topic: string; data: Record<string, unknown>; time: number },
  lead: LeadFacts | null,
  why: Why | null,
): PayloadV1 {
  return {
    version: PAYLOAD_VERSION,
    id: eventId(msg.workspaceId, msg.key),
    type: msg.topic,
    time: new Date(msg.time).toISOString(),
    workspace: msg.workspaceId,
    lead: lead && {
      id: lead.id,
      userId: lead.userId,
      email: lead.email,
      name: lead.name,
      stage: lead.stage,
      grade: why ? why.grade : lead.grade,
      scores: why ? why.scores : lead.scores,
      scoresAt: new Date(why ? why.at : msg.time).toISOString(),
      mqlAt: iso(lead.mqlAt),
      owner: lead.owner,
      mergedInto: lead.mergedInto,
      topContributions: why ? topContributions(why) : [],
    },
    data: msg.data,
  };
}

// --- Slack and email ------------------------------------------------------------------------------

const scoresText = (s: Record<string, number>) =>
  Object.entries(s)
    .map(([g, v]) => `${g} ${v}`)
    .join(" · ");

const signed = (n: number) => (n > 0 ? `+${n}` : String(n));

function whoText(p: PayloadV1): string {
  const l = p.lead;
  if (!l) return "a lead that no longer exists";
  const name = l.name ?? l.email ?? l.userId ?? l.id;
  return l.name && l.email ? `${l.name} (${l.email})` : name;
}

/** The handoff's owner, when the message is about a handoff; else the lead's. */
function ownerText(p: PayloadV1): string | null {
  const h = p.data.handoff as { owner?: { email?: string | null } | null } | undefined;
  return h?.owner?.email ?? p.lead?.owner?.email ?? p.lead?.owner?.name ?? null;
}

/** One line saying what happened, without markup. */
export function headline(p: PayloadV1): string {
  const d = p.data;
  const who = whoText(p);
  const h = (d.handoff ?? {}) as { reason?: string | null; amount?: number | null; currency?: string | null };
  const owner = ownerText(p);
  const money = h.amount == null ? "" : ` (${h.amount}${h.currency ? ` ${h.currency}` : ""})`;
  switch (p.type) {
    case "lead.mql":
      return `New MQL: ${who}`;
    case "lead.stage_changed":
      return `${who}: ${String(d.from)} → ${String(d.to)}`;
    case "lead.merged":
      return `Leads merged into ${who}`;
    case "lead.score_changed": {
      const delta = (d.delta ?? {}) as Record<string, number>;
      const moves = Object.entries(delta)
        .filter(([, v]) => v !== 0)
        .map(([g, v]) => `${g} ${signed(v)}`)
        .join(", ");
      return `Score changed for ${who}: ${moves}`;
    }
    case "handoff.assigned":
      return `MQL ${who} assigned to ${owner ?? "the fallback queue"}`;
    case "handoff.breached":
      return `SLA breached: ${who}${owner ? ` (${owner})` : ""}`;
    case "handoff.accepted":
      return `${owner ?? "Sales"} accepted ${who}`;
    case "handoff.rejected":
      return `${owner ?? "Sales"} rejected ${who}${h.reason ? `: ${h.reason}` : ""}`;
    case "handoff.converted":
      return `${who} converted to SQL`;
    case "handoff.opportunity":
      return `Opportunity for ${who}${money}`;
    case "handoff.won":
      return `Won: ${who}${money}`;
    case "handoff.lost":
      return `Lost: ${who}${money}`;
    case "audience.joined":
      return `${who} joined audience ${String(d.audienceId)}`;
    case "audience.left":
      return `${who} left audience ${String(d.audienceId)}`;
    case "webhook.test":
      return "Test notification from Qualify";
    default:
      return `${p.type}: ${who}`;
  }
}

function whyText(p: PayloadV1): string | null {
  const top = p.lead?.topContributions ?? [];
  if (top.length === 0) return null;
  return top.map((c) => `${c.event ?? c.label ?? c.rule} ${signed(c.points)}`).join(", ");
}

/** Slack's mrkdwn needs &, < and > escaped. */
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A Slack-compatible message (incoming webhooks, Block Kit): `text` is the fallback for notifications. */
export function slackMessage(p: PayloadV1) {
  const title = headline(p);
  const l = p.lead;
  const facts: string[] = [];
  if (l) {
    facts.push(`*Stage*\n${esc(l.stage)}`);
    facts.push(`*Grade*\n${esc(l.grade ?? "–")}`);
    facts.push(`*Scores*\n${esc(scoresText(l.scores) || "–")}`);
    const owner = ownerText(p);
    facts.push(`*Owner*\n${esc(owner ?? "unassigned")}`);
  }
  const why = whyText(p);
  const blocks: unknown[] = [{ type: "section", text: { type: "mrkdwn", text: `*${esc(title)}*` } }];
  if (facts.length > 0)
    blocks.push({ type: "section", fields: facts.map((text) => ({ type: "mrkdwn", text })) });
  blocks.push({
    type: "context",
    elements: [
      {
        type: "mrkdwn",
        text: esc(`${why ? `Why: ${why} · ` : ""}${p.type} · ${p.time} · ${p.id}`),
      },
    ],
  });
  return { text: title, blocks };
}

/** The email to the owner: subject, plain text and HTML. */
export function emailMessage(p: PayloadV1): { subject: string; text: string; html: string } {
  const title = headline(p);
  const l = p.lead;
  const lines = [title, ""];
  if (l) {
    lines.push(`Lead: ${whoText(p)}`);
    lines.push(`Stage: ${l.stage}    Grade: ${l.grade ?? "-"}`);
    lines.push(`Scores: ${scoresText(l.scores) || "-"}`);
    const owner = ownerText(p);
    if (owner) lines.push(`Owner: ${owner}`);
    const h = p.data.handoff as { dueAt?: string | null } | undefined;
    if (h?.dueAt) lines.push(`Due: ${h.dueAt}`);
    if (l.topContributions.length > 0) {
      lines.push("", "Why:");
      for (const c of l.topContributions)
        lines.push(`  ${signed(c.points)}  ${c.event ?? c.label ?? c.rule} (${c.group}, ${c.rule})`);
    }
  }
  lines.push("", `${p.type} at ${p.time}; event id ${p.id}`);
  const text = `${lines.join("\n")}\n`;
  const html = `<!doctype html><html><body><pre style="font-family: sans-serif">${text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")}</pre></body></html>`;
  return { subject: `[Qualify] ${title}`, text, html };
}
