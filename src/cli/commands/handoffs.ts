import type { Command } from "commander";
import { ACTION_NAMES } from "../../handoff/handoff-actions.js";
import { printJson, withClient } from "../with-client.js";

interface Handoff {
  id: string;
  leadId: string;
  kind: string;
  status: string;
  owner: { email: string } | null;
  team: string;
  rule: string;
  assignedAt: string;
  dueAt: string | null;
  breaches: number;
  routing: { why: string; skipped: { owner?: string; rule?: string; reason: string }[] };
}

const line = (h: Handoff) =>
  `${h.id}  ${h.status.padEnd(11)} ${(h.owner?.email ?? "(queue)").padEnd(28)} ${h.team.padEnd(14)} due ${h.dueAt ?? "-"}${h.breaches ? `  breached ×${h.breaches}` : ""}${h.kind === "re-mql" ? "  re-MQL" : ""}\n`;

/** `qualify handoffs …`: a sales rep's queue and actions, through the API (docs/handoff.md). */
export function registerHandoffs(program: Command): void {
  const handoffs = program
    .command("handoffs")
    .description("MQLs handed to sales: list, show, act (docs/handoff.md)");

  handoffs
    .command("list")
    .description("handoffs, newest first (a sales user's token sees their own)")
    .option("--mine", "only mine")
    .option("--owner <user>", "a user id or email")
    .option("--status <statuses>", "comma-separated, e.g. pending,accepted")
    .option("--team <team>")
    .option("--kind <kind>", "mql (first MQLs) or re-mql (after a recycle)")
    .option("--breached", "only those breached at least once")
    .option("--limit <n>", "how many", "50")
    .option("--json", "print JSON")
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const q = new URLSearchParams();
      if (o.mine) q.set("owner", "me");
      for (const k of ["owner", "status", "team", "kind", "limit"])
        if (typeof o[k] === "string") q.set(k, o[k] as string);
      if (o.breached) q.set("breached", "true");
      await withClient(async (client) => {
        const page = await client.call<{ handoffs: Handoff[]; nextCursor: string | null }>(
          "GET",
          `/api/handoffs?${q}`,
        );
        if (o.json) return printJson(page);
        for (const h of page.handoffs) process.stdout.write(line(h));
        if (page.handoffs.length === 0) process.stdout.write("no handoffs\n");
      });
    });

  handoffs
    .command("show")
    .description("one handoff: routing decision, SLA, every step")
    .argument("<id>")
    .option("--json", "print JSON")
    .action(async (id: string, o: { json?: boolean }) => {
      await withClient(async (client) => {
        const h = await client.call<
          Handoff & {
            history: { at: string; action: string; owner: string | null; actor: string; by: string | null }[];
          }
        >("GET", `/api/handoffs/${encodeURIComponent(id)}`);
        if (o.json) return printJson(h);
        process.stdout.write(line(h));
        process.stdout.write(`  routed by ${h.rule}: ${h.routing.why}\n`);
        for (const s of h.routing.skipped)
          process.stdout.write(`  skipped ${s.owner ?? s.rule}: ${s.reason}\n`);
        for (const e of h.history)
          process.stdout.write(
            `  ${e.at}  ${e.action.padEnd(11)} ${e.owner ?? ""}  (${e.actor}${e.by ? ` ${e.by}` : ""})\n`,
          );
      });
    });

  for (const action of ACTION_NAMES) {
    const cmd = handoffs
      .command(action)
      .description(`${action} a handoff (its owner, or an admin)`)
      .argument("<id>")
      .option("--at <time>", "when it happened (ISO-8601; default now)");
    if (action === "reject") cmd.requiredOption("--reason <reason>", "one of the routing's rejectionReasons");
    if (action === "opportunity" || action === "won")
      cmd.option("--amount <n>", "the deal's amount").option("--currency <code>", "ISO 4217, e.g. EUR");
    cmd.action(
      async (id: string, o: { reason?: string; amount?: string; currency?: string; at?: string }) => {
        await withClient(async (client) => {
          const r = await client.call<{
            handoff: Handoff;
            engine: { transitions: { from: string; to: string }[]; ignored: { reason: string }[] };
          }>("POST", `/api/handoffs/${encodeURIComponent(id)}/${action}`, {
            ...(o.reason === undefined ? {} : { reason: o.reason }),
            ...(o.amount === undefined ? {} : { amount: Number(o.amount) }),
            ...(o.currency === undefined ? {} : { currency: o.currency }),
            ...(o.at === undefined ? {} : { at: o.at }),
          });
          process.stdout.write(line(r.handoff));
          for (const t of r.engine.transitions) process.stdout.write(`  lead ${t.from} → ${t.to}\n`);
          for (const i of r.engine.ignored)
            process.stdout.write(`  the engine ignored the stage fact: ${i.reason}\n`);
        });
      },
    );
  }

  handoffs
    .command("reassign")
    .description("give a handoff to another sales user; a pending one's SLA clock restarts")
    .argument("<id>")
    .requiredOption("--to <user>", "user id or email")
    .action(async (id: string, o: { to: string }) => {
      await withClient(async (client) => {
        const h = await client.call<Handoff>("POST", `/api/handoffs/${encodeURIComponent(id)}/reassign`, {
          owner: o.to,
        });
        process.stdout.write(line(h));
      });
    });
}
