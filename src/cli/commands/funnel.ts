import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import type { AccountabilityReport, Compliance } from "../../analytics/accountability-report.js";
import { parseAnalyticsConfig } from "../../analytics/analytics-config.js";
import { ATTRIBUTION_MODELS } from "../../analytics/attribution.js";
import type { AttributionReport } from "../../analytics/attribution-report.js";
import type { FunnelReport, StageCount } from "../../analytics/funnel-report.js";
import type { PathRow, PathsReport } from "../../analytics/paths-report.js";
import { BREAKDOWNS } from "../../analytics/report-filter.js";
import type { VelocityReport } from "../../analytics/velocity-report.js";
import { QualifyError } from "../../errors.js";
import { table } from "../format-table.js";
import { readText } from "../read-files.js";
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

const duration = (ms: number | null) => {
  if (ms === null) return "";
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(0)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
};

function printVelocity(r: VelocityReport): void {
  process.stdout.write(`Velocity, ${r.from.slice(0, 10)} to ${r.to.slice(0, 10)}: ${n(r.leads)} leads\n\n`);
  const rows = (ivs: VelocityReport["intervals"]) =>
    ivs.map((i) => [i.name, n(i.count), duration(i.medianMs), duration(i.p75Ms)]);
  process.stdout.write(
    table(["interval (ending in the range)", "leads", "median", "p75"], rows(r.intervals)),
  );
  for (const g of r.groups) {
    process.stdout.write(`\n${g.key ?? "(none)"}\n`);
    process.stdout.write(table(["interval", "leads", "median", "p75"], rows(g.intervals)));
  }
  process.stdout.write("\n");
  process.stdout.write(
    table(
      ["time in stage (stays ending in the range)", "stays", "median", "p75", "still in it"],
      r.stages.map((s) => [s.stage, n(s.count), duration(s.medianMs), duration(s.p75Ms), n(s.open)]),
    ),
  );
}

function printAccountability(r: AccountabilityReport): void {
  process.stdout.write(`Handoffs, ${r.from.slice(0, 10)} to ${r.to.slice(0, 10)}: ${n(r.leads)} leads\n\n`);
  const rows = (cs: Compliance[]) =>
    cs.map((c) => [
      c.key ?? "(none)",
      n(c.handoffs),
      n(c.met),
      n(c.missed),
      n(c.pending),
      pct(c.compliance),
      n(c.breaches),
    ]);
  const head = ["SLA", "handoffs", "met", "missed", "pending", "compliance", "breaches"];
  process.stdout.write(table(head, rows([{ ...r.sla, key: "all" }])));
  process.stdout.write(`\n${table(["owner", ...head.slice(1)], rows(r.byOwner))}`);
  process.stdout.write(`\n${table(["team", ...head.slice(1)], rows(r.byTeam))}`);
  if (r.rejections.length > 0)
    process.stdout.write(
      `\n${table(
        ["rejection reason", "count", "share"],
        r.rejections.map((x) => [x.reason, n(x.count), pct(x.share)]),
      )}`,
    );
  const c = r.recycling;
  process.stdout.write(
    `\nre-MQLs ${n(c.reMqls)} of ${n(c.handoffs)} (${pct(c.reMqlRate) || "-"}); recycled ${n(c.recycled)} (${pct(c.recycleRate) || "-"})\n\n`,
  );
  process.stdout.write(
    table(
      ["week", "MQLs", "re-MQLs", "capacity"],
      r.weekly.map((w) => [
        w.week.slice(0, 10),
        n(w.mqls),
        n(w.reMqls),
        w.capacity === null ? "no limit" : n(w.capacity),
      ]),
    ),
  );
}

function printPaths(r: PathsReport): void {
  const rows = (ps: PathRow[]) =>
    ps.map((p) => [p.path.join(" → ") || "(no typed touch)", n(p.leads), n(p.converted), pct(p.rate)]);
  process.stdout.write(
    `Paths before MQL: ${n(r.leads)} leads created ${r.from.slice(0, 10)} to ${r.to.slice(0, 10)}\n\n`,
  );
  process.stdout.write(table(["path", "leads", "became MQL", "rate"], rows(r.beforeMql)));
  process.stdout.write(`\nPaths before won: ${n(r.mqls)} MQLs in the range\n\n`);
  process.stdout.write(table(["path", "MQLs", "won", "rate"], rows(r.beforeWon)));
}

const credit = (x: number) => (Number.isInteger(x) ? n(x) : x.toFixed(2));

function printAttribution(r: AttributionReport): void {
  const t = r.totals;
  process.stdout.write(
    `Attribution by ${r.by}, ${r.from.slice(0, 10)} to ${r.to.slice(0, 10)}: ${n(r.leads)} leads; ${n(t.lead)} leads created, ${n(t.mql)} MQLs, ${n(t.sql)} SQLs, ${n(t.opportunity)} opportunities, ${n(t.won)} won (${credit(t.revenue)})\n`,
  );
  for (const m of ATTRIBUTION_MODELS) {
    process.stdout.write(`\n${m}\n`);
    process.stdout.write(
      table(
        [r.by, "leads", "MQLs", "SQLs", "opportunities", "won", "revenue"],
        r.rows.map((row) => {
          const c = row.models[m];
          return [
            row.key,
            credit(c.lead),
            credit(c.mql),
            credit(c.sql),
            credit(c.opportunity),
            credit(c.won),
            credit(c.revenue),
          ];
        }),
      ),
    );
  }
}

const REPORTS = {
  stages: { path: "funnel", extra: ["view", "period"], print: printFunnel },
  velocity: { path: "velocity", extra: [], print: printVelocity },
  handoffs: { path: "handoffs", extra: [], print: printAccountability },
  paths: { path: "paths", extra: ["limit"], print: printPaths },
  attribution: { path: "attribution", extra: [], print: printAttribution },
} as const;

/** `qualify funnel [report]`: the analytics reports through the API (docs/analytics.md). */
export function registerFunnel(program: Command): void {
  reportOptions(
    program
      .command("funnel")
      .description(
        "funnel analytics: the stages from visitor to customer (by date range or cohort), velocity, the handoff's accountability, conversion paths, or attribution",
      )
      .argument("[report]", `${Object.keys(REPORTS).join(" or ")}`, "stages")
      .option(
        "--view <view>",
        "stages: range (stages reached in the range) or cohort (leads created in it)",
        "range",
      )
      .option("--period <period>", "stages, cohort view: week or month", "week")
      .option("--limit <n>", "paths: how many of each", "20"),
  ).action(async (report: string, o: Record<string, unknown>) => {
    const spec = REPORTS[report as keyof typeof REPORTS];
    if (!spec)
      throw new QualifyError(
        "INPUT_INVALID",
        `report: '${report}' is not one of ${Object.keys(REPORTS).join(", ")}`,
        [{ path: "report", message: "unknown report" }],
      );
    await withClient(async (client) => {
      const r = await client.call<never>("GET", `/api/analytics/${spec.path}?${reportQuery(o, spec.extra)}`);
      if (o.json) return printJson(r);
      spec.print(r);
    });
  });
}

/** `qualify analytics config [--set FILE]`: the session gap, channel rules and touchpoint types. */
export function registerAnalyticsConfig(program: Command): void {
  program
    .command("analytics")
    .description("the analytics configuration (docs/analytics.md)")
    .command("config")
    .description("print the analytics configuration, or replace it from a YAML or JSON file with --set")
    .option(
      "--set <file>",
      "configuration file (fields left out take their defaults); the rollups are rebuilt",
    )
    .action(async (o: { set?: string }) => {
      const raw = o.set ? (parseYaml(readText(o.set)) as unknown) : undefined;
      // Checked here first, so that a bad file is refused, naming each field, without a call.
      if (raw !== undefined) parseAnalyticsConfig(raw);
      await withClient(async (client) => {
        printJson(await client.call(raw === undefined ? "GET" : "PUT", "/api/analytics/config", raw));
      });
    });
}
