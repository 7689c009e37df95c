import type { Contribution, Evaluation, Input, Transition } from "../engine/index.js";

const iso = (ms: number) => new Date(ms).toISOString();

export function describeInput(input: Input | undefined): string {
  if (!input) return "";
  if (input.kind === "fact") return `${input.fact} (${input.actor})`;
  if (input.kind === "account") return `account ${input.groupId}`;
  if (input.type === "track") return `track "${input.event}"`;
  if (input.type === "page" || input.type === "screen") {
    const path = input.properties?.path;
    return `${input.type} ${typeof path === "string" ? path : (input.name ?? "")}`.trim();
  }
  return input.type;
}

function source(c: Contribution, byId: Map<string, Input>): string {
  if (c.kind === "trait") {
    return Object.entries(c.traits ?? {})
      .filter(([, v]) => v !== null)
      .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
      .join(", ");
  }
  if (c.kind === "cap") return c.rule === "cap" ? "group cap" : "group floor";
  return `${describeInput(byId.get(c.eventId ?? ""))} at ${iso(c.at ?? 0)} (message ${c.eventId})`;
}

const num = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) =>
    `  ${r.map((cell, i) => (i >= r.length - 3 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0))).join("  ")}`.trimEnd(),
  );
}

export function formatTransition(t: Transition): string {
  const scores = Object.entries(t.scores)
    .map(([g, v]) => `${g} ${num(v)}`)
    .join(", ");
  const late = t.at !== t.triggerAt ? ` (triggered at ${iso(t.triggerAt)})` : "";
  const rules = t.rules.length ? ` [${t.rules.join(", ")}]` : "";
  return `  ${iso(t.at)}  ${t.from} → ${t.to}  by ${t.actor}${t.by ? ` ${t.by}` : ""}${rules}: ${t.reason}; ${scores}, grade ${t.grade}${late}`;
}

/** The full story of one lead's score: every contribution, the totals, and the stage history. */
export function formatExplanation(label: string, e: Evaluation, inputs: readonly Input[]): string {
  const byId = new Map(inputs.map((i) => [i.id, i]));
  const out = [
    `Lead ${label}`,
    `As of ${iso(e.asOf)} under model ${e.model}`,
    `Stage ${e.stage}, grade ${e.grade}`,
    `Qualification: ${e.qualification.status}: ${e.qualification.reason}`,
  ];
  if (e.episodeStart !== null) out.push(`Scoring episode since the recycle at ${iso(e.episodeStart)}`);
  for (const [group, score] of Object.entries(e.scores)) {
    const mine = e.contributions.filter((c) => c.group === group);
    out.push("", `${group} = ${num(score)}${mine.length ? "" : " (no contributions)"}`);
    if (mine.length === 0) continue;
    const rows = [
      ["rule", "source", "raw", "decay", "points"],
      ...mine.map((c) => [
        c.label ? `${c.rule} (${c.label})` : c.rule,
        source(c, byId),
        num(c.raw),
        `×${c.factor === 1 ? "1" : c.factor.toFixed(4)}`,
        num(c.points),
      ]),
    ];
    out.push(...table(rows));
  }
  out.push("", "Stage history:");
  if (e.transitions.length === 0) out.push("  (none: still a visitor)");
  out.push(...e.transitions.map(formatTransition));
  if (e.ignored.length) {
    out.push("", "Ignored inputs:");
    for (const i of e.ignored) out.push(`  ${i.inputId}: ${i.reason}`);
  }
  return out.join("\n");
}
