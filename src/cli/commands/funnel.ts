import type { Command } from "commander";
import type { FunnelReport, StageCount } from "../../analytics/funnel-report.js";
import { BREAKDOWNS } from "../../analytics/report-filter.js";
import { printJson, withClient } from "../with-client.js";

const n = (v: number) => v.toLocaleString("en-US");
const pct = (r: number | null) => (r === null ? "" : `${(r * 100).toFixed(1)} %`);

/** Options every report takes, as flags (docs/analytics.md). */
export function reportOptions(cmd: Command): Command {
  return cmd
    .requiredOption("--from <date>", "the range's first day, e.g. 2026-09-01 (UTC), inclusive")
    .requiredOption("--to <date>", "the range's end, exclusive")
    .option("--channel <channel>", "only leads whose first touch had this channel")
    .option("--source <source>")
    .option("--campaign <campaign>")
    .option("--owner <userId>", "only leads whose latest handoff is this user's")
    .option("--team <team>")
    .option("--grade <grade>")
    .option("--by <breakdown>", `break down by ${BREAKDOWNS.join(", ")}`)
    .option("--json", "print JSON");
}

/** The report flags as a query string (only those given). */
export function reportQuery(o: Record<string, unknown>, extra: readonly string[] = []): URLSearchParams {
  const q = new URLSearchParams();
  for (const k of ["from", "to", "channel", "source", "campaign", "owner", "team", "grade", "by", ...extra])
    if (typeof o[k] === "string") q.set(k, o[k] as string);
  return q;
}

/** A table: the first column left-aligned, the others right-aligned. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    `${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ")}\n`;
  return line(head) + line(widths.map((w) => "-".repeat(w))) + rows.map(line).join("");
}

const counts = (s: StageCount[]) => s.map((x) => n(x.count));

function printFunnel(r: FunnelReport): void {
  const title = `Funnel, ${r.view === "cohort" ? `${r.period}ly cohorts of new leads` : "by date range"}, ${r.from.slice(0, 10)} to ${r.to.slice(0, 10)}: ${n(r.leads)} leads\n\n`;
  process.stdout.write(title);
  process.stdout.write(
    table(
      ["stage", "count", "from previous"],
      r.total.map((s) => [s.stage, n(s.count), pct(s.rate)]),
    ),
  );
  if (r.groups.length === 0) return;
  process.stdout.write("\n");
  const stages = r.total.map((s) => s.stage);
  process.stdout.write(
    table(
      [r.view === "cohort" ? "cohort" : "group", ...stages, "lead → customer"],
      r.groups.map((g) => {
        const lead = g.stages.find((s) => s.stage === "lead")?.count ?? 0;
        const won = g.stages.find((s) => s.stage === "customer")?.count ?? 0;
        return [
          r.view === "cohort" ? (g.key ?? "").slice(0, 10) : (g.key ?? "(none)"),
          ...counts(g.stages),
          lead === 0 ? "" : pct(won / lead),
        ];
      }),
    ),
  );
}

/** `qualify funnel`: the funnel report through the API (docs/analytics.md). */
export function registerFunnel(program: Command): void {
  reportOptions(
    program
      .command("funnel")
      .description("counts and conversion rates from visitor to customer, by date range or by cohort")
      .option("--view <view>", "range (transitions in the range) or cohort (leads created in it)", "range")
      .option("--period <period>", "cohorts by week or month", "week"),
  ).action(async (o: Record<string, unknown>) => {
    await withClient(async (client) => {
      const r = await client.call<FunnelReport>(
        "GET",
        `/api/analytics/funnel?${reportQuery(o, ["view", "period"])}`,
      );
      if (o.json) return printJson(r);
      printFunnel(r);
    });
  });
}
