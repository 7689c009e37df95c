import { writeFileSync } from "node:fs";
import { basename } from "node:path";
import type { Command } from "commander";
import type { BacktestReport, ModelResult } from "../../lab/backtest/backtest.js";
import type { CapacityPoint, CapacityReport } from "../../lab/backtest/capacity.js";
import { table } from "../format-table.js";
import { readText } from "../read-files.js";
import { printJson, withClient } from "../with-client.js";

const pct = (x: number | null) => (x === null ? "–" : `${(x * 100).toFixed(1)} %`);

/** A model named on the command line: `v3` is a stored version, anything else a YAML file. */
const modelArg = (arg: string) =>
  /^v\d+$/.test(arg)
    ? { version: Number(arg.slice(1)), label: arg }
    : { source: readText(arg), label: basename(arg) };

function printReport(r: BacktestReport): void {
  const w = (s: string) => process.stdout.write(s);
  const all: ModelResult[] = [r.live, ...r.models];
  w(
    `Backtest ${r.from.slice(0, 10)} to ${r.to.slice(0, 10)}: ${r.leads} leads, ${r.events} stored inputs replayed.\n\n`,
  );
  const row = (name: string, f: (m: ModelResult) => string) => [name, ...all.map(f)];
  w(
    table(
      ["", ...all.map((m) => m.label)],
      [
        row("MQLs", (m) => String(m.mqls)),
        row("reached opportunity or won", (m) => `${m.precision.reached} (${pct(m.precision.rate)})`),
        row(
          "accepted by sales (SAL)",
          (m) => `${m.handoff.sal}/${m.handoff.observable} (${pct(m.handoff.salRate)})`,
        ),
        row("converted (SQL)", (m) => `${m.handoff.sql}/${m.handoff.observable} (${pct(m.handoff.sqlRate)})`),
        row("never handed off (unobservable)", (m) => String(m.handoff.unobservable)),
        row(
          "opportunities and wins qualified (recall)",
          (m) => `${m.recall.qualified}/${m.recall.outcomes} (${pct(m.recall.rate)})`,
        ),
        row("median days vs live (− earlier)", (m) =>
          m.leadTime.medianDays === null ? "–" : m.leadTime.medianDays.toFixed(1),
        ),
        row("adds vs live", (m) => String(m.vsLive.adds)),
        row("drops vs live", (m) => String(m.vsLive.drops)),
      ],
    ),
  );
  const weeks = [...new Set(all.flatMap((m) => m.byWeek.map((x) => x.week)))].sort();
  w("\nMQLs by week:\n\n");
  w(
    table(
      ["week", ...all.map((m) => m.label)],
      weeks.map((week) => [
        week,
        ...all.map((m) => String(m.byWeek.find((x) => x.week === week)?.mqls ?? 0)),
      ]),
    ),
  );
  for (const m of r.models) {
    for (const [what, list] of [
      ["adds", m.vsLive.addExamples],
      ["drops", m.vsLive.dropExamples],
    ] as const) {
      if (list.length === 0) continue;
      w(`\n${m.label}: ${what} (first ${list.length}):\n`);
      for (const e of list)
        w(`  ${e.email ?? e.leadId}  ${new Date(e.at).toISOString().slice(0, 16)}  ${e.reason}\n`);
    }
  }
}

async function run(models: string[], o: { from?: string; to?: string; json?: boolean }): Promise<void> {
  const body = { models: models.map(modelArg), from: o.from, to: o.to };
  await withClient(async (client) => {
    const r = await client.call<BacktestReport>("POST", "/api/lab/backtest", body);
    if (o.json) printJson(r);
    else printReport(r);
  });
}

function printCapacity(r: CapacityReport, out: string | undefined): void {
  const w = (s: string) => process.stdout.write(s);
  const line = (p: CapacityPoint) => [
    `×${p.factor}`,
    p.thresholds.join(", "),
    p.mqlsPerWeek.toFixed(1),
    pct(p.precision),
    pct(p.recall),
  ];
  const head = ["thresholds", "MQL score thresholds", "MQLs/week", "precision", "recall"];
  w(`Capacity ${r.capacity} MQLs a week, over ${r.weeks.toFixed(1)} weeks:\n\n`);
  w(
    table(
      ["", ...head],
      [["current", ...line(r.current)], ...(r.suggested ? [["suggested", ...line(r.suggested)]] : [])],
    ),
  );
  if (!r.suggested) w("\nEven the highest thresholds tried make more MQLs than that.\n");
  w("\nThe curve (every factor tried):\n\n");
  w(table(head, r.curve.map(line)));
  if (r.model && out) {
    writeFileSync(out, r.model);
    w(`\nThe model with the suggested thresholds is in ${out}.\n`);
  }
}

/** `qualify model backtest FILE`, `qualify model compare A B [C…]` and `qualify model capacity MODEL --per-week N`. */
export function registerModelBacktest(model: Command): void {
  const period = (c: Command) =>
    c
      .option("--from <date>", "the period's start (default: 90 days before --to)")
      .option("--to <date>", "the period's end, exclusive (default: now)")
      .option("--json", "print the report as JSON");
  period(
    model
      .command("backtest")
      .description(
        "replay stored history under a draft model (a file, or vN) and compare it with the live one",
      )
      .argument("<model>", "a model YAML file, or vN for a stored version"),
  ).action((file: string, o) => run([file], o));
  period(
    model
      .command("compare")
      .description("backtest several models side by side on the same history")
      .argument("<models...>", "model YAML files, or vN for stored versions"),
  ).action((files: string[], o) => run(files, o));
  period(
    model
      .command("capacity")
      .description("suggest the MQL thresholds that fit a sales capacity, with precision and recall")
      .argument("<model>", "a model YAML file, or vN for a stored version")
      .requiredOption("--per-week <n>", "MQLs per week that sales can take")
      .option("--out <file>", "write the model with the suggested thresholds here"),
  ).action(
    async (
      file: string,
      o: { perWeek: string; from?: string; to?: string; json?: boolean; out?: string },
    ) => {
      const body = { model: modelArg(file), capacity: Number(o.perWeek), from: o.from, to: o.to };
      await withClient(async (client) => {
        const r = await client.call<CapacityReport>("POST", "/api/lab/capacity", body);
        if (o.json) printJson(r);
        else printCapacity(r, o.out);
      });
    },
  );
}
