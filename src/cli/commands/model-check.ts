import type { Command } from "commander";
import { formatDuration } from "../../engine/duration.js";
import { describeCondition } from "../../engine/index.js";
import type { CompiledModel } from "../../engine/model/compile-model.js";
import type { MatcherSpec } from "../../engine/model/model-schema.js";
import { readModelFile } from "../read-files.js";

function matcherText(m: MatcherSpec): string {
  const names = m.type === "track" ? m.event : m.name;
  const list = names === undefined ? "" : ` ${(Array.isArray(names) ? names : [names]).join(" | ")}`;
  return `${m.type}${list}${m.where ? ` where ${describeCondition(m.where)}` : ""}`;
}

const decayText = (d: unknown) =>
  d === undefined || d === "none"
    ? "no decay"
    : typeof d === "object" && d !== null && "halfLife" in d
      ? `half-life ${formatDuration(d.halfLife as number)}`
      : `lookback ${formatDuration((d as { lookback: number }).lookback)}`;

/** A readable summary of a valid model. */
export function summarizeModel(m: CompiledModel): string {
  const s = m.spec;
  const out: string[] = [`Model ${s.name} version ${s.version}: valid`];
  if (s.description) out.push(`  ${s.description.trim()}`);
  out.push("", "Score groups:");
  for (const g of m.groups) {
    const spec = s.groups[g.name];
    const bounds = [
      g.cap !== null ? `cap ${g.cap / 100}` : "",
      g.floor !== null ? `floor ${g.floor / 100}` : "",
    ].filter(Boolean);
    out.push(
      `  ${g.name}: ${decayText(spec?.decay)}${bounds.length ? `, ${bounds.join(", ")}` : ""}${g.reset ? ", reset on recycle" : ""}`,
    );
  }
  out.push("", `Engagement rules (${s.rules.length}):`);
  s.rules.forEach((r) => {
    const extras = [
      r.once ? "once" : "",
      r.cap ? `cap ${r.cap.points} per ${formatDuration(r.cap.window)}` : "",
      r.frequency ? `${r.frequency.count}x within ${formatDuration(r.frequency.window)}` : "",
      r.decay !== undefined ? decayText(r.decay) : "",
    ].filter(Boolean);
    const pts = r.points > 0 ? `+${r.points}` : `${r.points}`;
    out.push(
      `  ${r.id} [${r.group ?? "engagement"}] ${pts}: ${matcherText(r.match)}${extras.length ? ` (${extras.join(", ")})` : ""}`,
    );
  });
  out.push("", `Fit rules (${s.fit.length}):`);
  for (const f of s.fit) {
    if (f.cases) {
      out.push(`  ${f.id} [${f.group ?? "fit"}], first matching case:`);
      for (const c of f.cases)
        out.push(
          `    ${c.points > 0 ? "+" : ""}${c.points}${c.label ? ` ${c.label}` : ""}: ${describeCondition(c.when)}`,
        );
    } else {
      const p = f.points as number;
      out.push(
        `  ${f.id} [${f.group ?? "fit"}] ${p > 0 ? "+" : ""}${p}: ${describeCondition(f.when as never)}`,
      );
    }
  }
  out.push("", `Grades (fit): A ≥ ${s.grades.A}, B ≥ ${s.grades.B}, C ≥ ${s.grades.C}, D below`);
  const lead = s.lifecycle.lead;
  out.push(
    `Lead: ${lead.traits.join(", ")} known and one of: ${[...lead.events.map(matcherText), "a hand-raiser"].join("; ")}`,
  );
  out.push("", `MQL when: ${describeCondition(s.qualification.mql)}`);
  for (const h of s.qualification.handRaisers) out.push(`  hand-raiser ${h.id}: ${matcherText(h.match)}`);
  for (const d of s.qualification.disqualifiers)
    out.push(
      `  ${d.mode} disqualifier ${d.id}: ${d.when ? describeCondition(d.when) : matcherText(d.match as MatcherSpec)}`,
    );
  const r = s.recycle;
  out.push(
    "",
    `Recycle: reset ${r.reset.join(", ") || "nothing"}; keep ${r.keep.join(", ") || "the rest"}; cooldown ${r.cooldown ? formatDuration(r.cooldown) : "none"}`,
  );
  return out.join("\n");
}

export function registerModelCheck(model: Command): void {
  model
    .command("check")
    .description("validate a scoring model and print a summary of it")
    .argument("<file>", "the model, in YAML")
    .option("--json", "print the validated model as JSON")
    .action((file: string, opts: { json?: boolean }) => {
      const m = readModelFile(file);
      process.stdout.write(`${opts.json ? JSON.stringify(m.spec, null, 2) : summarizeModel(m)}\n`);
    });
}
