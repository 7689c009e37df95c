import type { Command } from "commander";
import { QualifyError } from "../../errors.js";
import { printJson, withClient } from "../with-client.js";

/** `qualify webhooks …`: subscriptions and their deliveries, through the API (docs/webhooks.md). */

interface SubscriptionItem {
  id: string;
  name: string | null;
  kind: "webhook" | "email";
  url: string | null;
  emailTo: string[] | null;
  events: string[];
  format: string;
  minScoreDelta: number | null;
  scoreGroup: string | null;
  active: boolean;
  disabledReason: string | null;
  secret?: string;
}

interface DeliveryItem {
  id: number;
  subscriptionId: string;
  eventId: string;
  type: string;
  leadId: string | null;
  recipient: string | null;
  status: string;
  inFlight: boolean;
  attempts: number;
  createdAt: string;
  lastAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  retryUntil: string | null;
  deliveredAt: string | null;
}

const collect = (v: string, all: string[]) => [
  ...all,
  ...v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
];

function number(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0)
    throw new QualifyError("INPUT_INVALID", `${name}: expected a number ≥ 0, got '${v}'`, [
      { path: name, message: "expected a number ≥ 0" },
    ]);
  return n;
}

/** The options `add` and `update` share, as the API's fields (only those given). */
function settings(o: {
  url?: string;
  format?: string;
  emailTo: string[];
  minDelta?: string;
  scoreGroup?: string;
  name?: string;
}) {
  return {
    ...(o.url === undefined ? {} : { url: o.url }),
    ...(o.format === undefined ? {} : { format: o.format }),
    ...(o.emailTo.length > 0 ? { emailTo: o.emailTo } : {}),
    ...(o.minDelta === undefined ? {} : { minScoreDelta: number("--min-delta", o.minDelta) }),
    ...(o.scoreGroup === undefined ? {} : { scoreGroup: o.scoreGroup }),
    ...(o.name === undefined ? {} : { name: o.name }),
  };
}

function describe(s: SubscriptionItem): string {
  const where = s.kind === "email" ? `email → ${s.emailTo?.join(", ") ?? "the lead's owner"}` : (s.url ?? "");
  const delta =
    s.minScoreDelta === null
      ? ""
      : ` (score Δ ≥ ${s.minScoreDelta}${s.scoreGroup ? ` of ${s.scoreGroup}` : ""})`;
  const state = s.active ? "active" : `inactive${s.disabledReason ? `: ${s.disabledReason}` : ""}`;
  return `${s.id}  ${state}  ${s.kind === "webhook" ? `${s.format}  ` : ""}${where}\n    ${s.name ? `${s.name}; ` : ""}${s.events.join(", ")}${delta}\n`;
}

function printSecret(s: SubscriptionItem): void {
  if (!s.secret) return;
  process.stdout.write(`signing secret: ${s.secret}\n`);
  process.stderr.write("shown once; keep it: receivers verify the Qualify-Signature header with it\n");
}

function deliveryLine(d: DeliveryItem): string {
  const last =
    d.lastStatus !== null
      ? `last ${d.lastStatus}`
      : d.lastError
        ? `last error: ${d.lastError.slice(0, 80)}`
        : "";
  const when =
    d.status === "pending"
      ? d.inFlight
        ? "sending now"
        : `next ${d.nextAttemptAt}`
      : d.status === "delivered"
        ? `delivered ${d.deliveredAt}`
        : "dead-lettered";
  return `${String(d.id).padStart(6)}  ${d.status.padEnd(9)} ${d.type.padEnd(20)} attempts ${d.attempts}  ${when}${last ? `  (${last})` : ""}  ${d.eventId}\n`;
}

export function registerWebhooks(program: Command): void {
  const webhooks = program
    .command("webhooks")
    .description("webhook and email notifications: subscriptions and deliveries (talks to the API)");

  webhooks
    .command("list")
    .description("list subscriptions")
    .option("--json", "print JSON")
    .action(async (o: { json?: boolean }) => {
      await withClient(async (client) => {
        const r = await client.call<{ subscriptions: SubscriptionItem[] }>("GET", "/api/webhooks");
        if (o.json) return printJson(r);
        for (const s of r.subscriptions) process.stdout.write(describe(s));
        if (r.subscriptions.length === 0) process.stdout.write("no subscriptions\n");
      });
    });

  webhooks
    .command("add")
    .description("add a subscription; prints its signing secret once")
    .option("--url <url>", "the URL to POST to")
    .option("--email", "email the lead's owner over SMTP (SMTP_URL) instead of posting")
    .option(
      "--email-to <address>",
      "with --email: fixed recipients instead of the owner (repeat)",
      collect,
      [],
    )
    .requiredOption(
      "--event <type>",
      "an event type, e.g. lead.mql (repeat, or comma-separated)",
      collect,
      [],
    )
    .option("--format <format>", "json (payload v1) or slack ({text, blocks})", "json")
    .option("--secret <secret>", "the signing secret (default: generated)")
    .option("--min-delta <n>", "lead.score_changed: the smallest score change that notifies")
    .option("--score-group <group>", "lead.score_changed: the score group whose change counts")
    .option("--name <name>", "what it is for")
    .option("--inactive", "add it switched off")
    .option("--json", "print JSON")
    .action(
      async (o: {
        url?: string;
        email?: boolean;
        emailTo: string[];
        event: string[];
        format: string;
        secret?: string;
        minDelta?: string;
        scoreGroup?: string;
        name?: string;
        inactive?: boolean;
        json?: boolean;
      }) => {
        await withClient(async (client) => {
          const s = await client.call<SubscriptionItem>("POST", "/api/webhooks", {
            kind: o.email ? "email" : "webhook",
            events: o.event,
            ...settings(o),
            ...(o.secret === undefined ? {} : { secret: o.secret }),
            ...(o.inactive ? { active: false } : {}),
          });
          if (o.json) return printJson(s);
          process.stdout.write(`added ${describe(s)}`);
          printSecret(s);
        });
      },
    );

  webhooks
    .command("update")
    .description("change a subscription: only the options given")
    .argument("<id>", "subscription id")
    .option("--url <url>", "the URL to POST to")
    .option("--event <type>", "replace the event types (repeat, or comma-separated)", collect, [])
    .option("--format <format>", "json or slack")
    .option("--email-to <address>", "replace the fixed recipients (repeat)", collect, [])
    .option("--min-delta <n>", "lead.score_changed threshold")
    .option("--score-group <group>", "lead.score_changed group")
    .option("--name <name>", "what it is for")
    .option("--enable", "switch it on")
    .option("--disable", "switch it off")
    .option("--rotate-secret", "generate a new signing secret (printed once)")
    .option("--json", "print JSON")
    .action(
      async (
        id: string,
        o: {
          url?: string;
          event: string[];
          format?: string;
          emailTo: string[];
          minDelta?: string;
          scoreGroup?: string;
          name?: string;
          enable?: boolean;
          disable?: boolean;
          rotateSecret?: boolean;
          json?: boolean;
        },
      ) => {
        if (o.enable && o.disable)
          throw new QualifyError("INPUT_INVALID", "--enable and --disable: give one", [
            { path: "--enable", message: "with --disable" },
          ]);
        await withClient(async (client) => {
          const s = await client.call<SubscriptionItem>("PATCH", `/api/webhooks/${encodeURIComponent(id)}`, {
            ...(o.event.length > 0 ? { events: o.event } : {}),
            ...settings(o),
            ...(o.enable ? { active: true } : o.disable ? { active: false } : {}),
            ...(o.rotateSecret ? { rotateSecret: true } : {}),
          });
          if (o.json) return printJson(s);
          process.stdout.write(`updated ${describe(s)}`);
          printSecret(s);
        });
      },
    );

  for (const [name, active] of [
    ["enable", true],
    ["disable", false],
  ] as const)
    webhooks
      .command(name)
      .description(`switch a subscription ${active ? "on" : "off"}`)
      .argument("<id>", "subscription id")
      .action(async (id: string) => {
        await withClient(async (client) => {
          const s = await client.call<SubscriptionItem>("PATCH", `/api/webhooks/${encodeURIComponent(id)}`, {
            active,
          });
          process.stdout.write(describe(s));
        });
      });

  webhooks
    .command("remove")
    .description("remove a subscription and its deliveries")
    .argument("<id>", "subscription id")
    .action(async (id: string) => {
      await withClient(async (client) => {
        await client.call("DELETE", `/api/webhooks/${encodeURIComponent(id)}`);
        process.stdout.write(`removed ${id}\n`);
      });
    });

  webhooks
    .command("test")
    .description("queue a webhook.test delivery to a subscription")
    .argument("<id>", "subscription id")
    .action(async (id: string) => {
      await withClient(async (client) => {
        const d = await client.call<DeliveryItem>("POST", `/api/webhooks/${encodeURIComponent(id)}/test`);
        process.stdout.write(`queued test delivery ${d.id} (${d.eventId})\n`);
      });
    });

  webhooks
    .command("deliveries")
    .description("deliveries, newest first: attempts, last status, next retry (all subscriptions, or one)")
    .argument("[id]", "subscription id")
    .option("--status <statuses>", "comma-separated: pending,delivered,dead")
    .option("--lead <leadId>", "only this lead's")
    .option("--limit <n>", "how many", "50")
    .option("--json", "print JSON")
    .action(
      async (
        id: string | undefined,
        o: { status?: string; lead?: string; limit: string; json?: boolean },
      ) => {
        const q = new URLSearchParams({ limit: o.limit });
        if (o.status) q.set("status", o.status);
        if (o.lead) q.set("leadId", o.lead);
        const path = id
          ? `/api/webhooks/${encodeURIComponent(id)}/deliveries?${q}`
          : `/api/webhooks/deliveries?${q}`;
        await withClient(async (client) => {
          const page = await client.call<{ deliveries: DeliveryItem[]; nextCursor: string | null }>(
            "GET",
            path,
          );
          if (o.json) return printJson(page);
          for (const d of page.deliveries) process.stdout.write(deliveryLine(d));
          if (page.deliveries.length === 0) process.stdout.write("no deliveries\n");
        });
      },
    );

  webhooks
    .command("retry")
    .description("send a dead-lettered delivery again now; or, with --subscription, all its dead ones")
    .argument("[deliveryId]", "delivery id")
    .option("--subscription <id>", "retry every dead delivery of this subscription")
    .action(async (deliveryId: string | undefined, o: { subscription?: string }) => {
      if ((deliveryId === undefined) === (o.subscription === undefined))
        throw new QualifyError("INPUT_INVALID", "give a delivery id, or --subscription <id>", [
          { path: "deliveryId", message: "one of the two" },
        ]);
      await withClient(async (client) => {
        if (o.subscription !== undefined) {
          const r = await client.call<{ retried: number }>(
            "POST",
            `/api/webhooks/${encodeURIComponent(o.subscription)}/retry`,
          );
          process.stdout.write(`retrying ${r.retried} dead deliveries of ${o.subscription}\n`);
          return;
        }
        const d = await client.call<DeliveryItem>(
          "POST",
          `/api/webhooks/deliveries/${encodeURIComponent(deliveryId as string)}/retry`,
        );
        process.stdout.write(deliveryLine(d));
      });
    });
}
