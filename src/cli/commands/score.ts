import type { Command } from "commander";
import { type Evaluation, evaluate } from "../../engine/index.js";
import { QualifyError } from "../../errors.js";
import { groupByLead, type LeadInputs } from "../../pipeline/group-by-lead.js";
import { formatExplanation } from "../format-explanation.js";
import { parseTime, readEventsFile, readModelFile } from "../read-files.js";

interface ScoreOptions {
  model: string;
  events: string;
  at?: string;
  json?: boolean;
  explain?: string;
}

/** One lead in `qualify score --json`; the format is documented in docs/cli.md. */
export interface ScoredLead {
  userId: string | null;
  anonymousIds: string[];
  stage: string;
  scores: Record<string, number>;
  grade: string;
  mqlAt: string | null;
  qualification: { status: string; reason: string };
}

const labelOf = (l: LeadInputs) => l.userId ?? l.anonymousIds[0] ?? "?";

function toScoredLead(l: LeadInputs, e: Evaluation): ScoredLead {
  return {
    userId: l.userId,
    anonymousIds: l.anonymousIds,
    stage: e.stage,
    scores: e.scores,
    grade: e.grade,
    mqlAt: e.mqlAt === null ? null : new Date(e.mqlAt).toISOString(),
    qualification: { status: e.qualification.status, reason: e.qualification.reason },
  };
}

function formatTable(rows: ScoredLead[], groups: string[], at: number): string {
  const header = ["lead", "stage", "grade", ...groups, "mqlAt"];
  const body = rows.map((r) => [
    r.userId ?? `(anonymous) ${r.anonymousIds[0] ?? ""}`,
    r.stage,
    r.grade,
    ...groups.map((g) => (r.scores[g] ?? 0).toFixed(2)),
    r.mqlAt ?? "",
  ]);
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? "").length)));
  const lines = all.map((row) =>
    row
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd(),
  );
  const mqls = rows.filter((r) => r.stage === "mql").length;
  return [
    ...lines,
    "",
    `${rows.length} leads scored as of ${new Date(at).toISOString()}; ${mqls} are MQLs now.`,
  ].join("\n");
}

export function runScore(opts: ScoreOptions): string {
  const model = readModelFile(opts.model);
  const events = readEventsFile(opts.events);
  const leads = groupByLead(events).sort((a, b) => labelOf(a).localeCompare(labelOf(b)));
  // The clock is the data's, never the wall clock: by default the latest event time in the file.
  const at = opts.at !== undefined ? parseTime(opts.at, "--at") : Math.max(...events.map((e) => e.input.at));
  if (!Number.isFinite(at)) throw new QualifyError("INPUT_INVALID", `${opts.events}: no events to score`);

  if (opts.explain !== undefined) {
    const who = opts.explain;
    const lead = leads.find((l) => l.userIds.includes(who) || l.anonymousIds.includes(who));
    if (!lead)
      throw new QualifyError(
        "NOT_FOUND",
        `--explain: no lead with userId or anonymousId '${who}' in ${opts.events}`,
      );
    const e = evaluate(model, lead.inputs, at);
    return opts.json
      ? JSON.stringify({ ...toScoredLead(lead, e), evaluation: e }, null, 2)
      : formatExplanation(labelOf(lead), e, lead.inputs);
  }
  const rows = leads.map((l) => toScoredLead(l, evaluate(model, l.inputs, at)));
  return opts.json
    ? JSON.stringify(rows, null, 2)
    : formatTable(
        rows,
        model.groups.map((g) => g.name),
        at,
      );
}

export function registerScore(program: Command): void {
  program
    .command("score")
    .description("score Segment-format events offline with a model, and explain any lead")
    .requiredOption("--model <file>", "the scoring model (YAML)")
    .requiredOption(
      "--events <file>",
      "Segment calls, one JSON object per line (track, page, screen, identify, group, alias)",
    )
    .option("--at <time>", "score as of this ISO-8601 time (default: the latest event time in the file)")
    .option("--json", "print a JSON array of leads instead of a table")
    .option("--explain <userId>", "print every contribution, the totals and the stage history of one lead")
    .action((opts: ScoreOptions) => {
      process.stdout.write(`${runScore(opts)}\n`);
    });
}
