import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  evaluate,
  type Input,
  type LeadState,
  newLeadState,
  parseModel,
  type Stage,
  step,
} from "../src/engine/index.js";
import { firstMismatch } from "./compare-step.js";
import { generateDataset } from "./generate-events.js";
import { fmt, type Measurement, mb, measure, ms, quantile, verdict } from "./measure.js";

/**
 * The engine benchmark: 1,000,000 events over 100,000 leads against the default model, scored by
 * full recompute (`evaluate`) and incrementally (`step`, one input per call, as live ingest does),
 * against a bare loop over the same inputs. Leads are grouped before timing; only engine work is timed.
 */

const SEED = 42;
const LEADS = 100_000;
const EVENTS = 1_000_000;
const DAYS = 180;
const START = Date.UTC(2026, 0, 1);
const STEP_TARGET_PER_SECOND = 1_000_000;
const STATE_TARGET_BYTES = 1024;

function repoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "models", "default.yaml"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no models/default.yaml above ${here}`);
  }
}

const modelPath = join(repoRoot(), "models", "default.yaml");
const model = parseModel(readFileSync(modelPath, "utf8"), modelPath);

console.log("Qualify engine benchmark");
console.log(
  `machine: ${os.cpus()[0]?.model ?? "unknown"} (${os.cpus().length} cores), node ${process.version}, ${os.platform()} ${os.arch()}`,
);
console.log(`model: ${model.key} (models/default.yaml)`);

const generatedAt = performance.now();
const data = generateDataset({ seed: SEED, leads: LEADS, events: EVENTS, days: DAYS, start: START });
const inputs = data.events + data.facts;
const t = data.end;
console.log(
  `data: ${fmt(data.leads.length)} leads, ${fmt(data.events)} events + ${fmt(data.facts)} stage facts = ${fmt(inputs)} inputs over ${DAYS} days (seed ${SEED}), generated in ${ms(performance.now() - generatedAt)}`,
);
console.log(`scored at: ${new Date(t).toISOString()}; each figure: 1 warm-up, then the best of 3 runs\n`);

function bareLoop(): number {
  let sum = 0;
  for (const lead of data.leads) {
    for (const input of lead) {
      sum += input.at;
      if (input.kind === "event" && input.type === "track") sum++;
    }
  }
  return sum;
}

function recomputeAll(): number {
  let mqls = 0;
  for (const lead of data.leads) if (evaluate(model, lead, t).mqlAt !== null) mqls++;
  return mqls;
}

function stepLead(lead: readonly Input[]): LeadState {
  let state = newLeadState(model);
  for (const input of lead) {
    const r = step(model, state, [input], input.at);
    if (r.state === undefined) throw new Error(`step asked for a replay from ${r.needsReplayFrom}`);
    state = r.state;
  }
  return state;
}

/**
 * The live path, one input per call. Like a worker that writes each state to storage, it keeps no
 * state once a lead is done (holding 100,000 states costs the garbage collector ~40% more); the
 * states compared below come from a separate, untimed run of the same function.
 */
function stepAll(): number {
  let mqls = 0;
  for (const lead of data.leads) if (stepLead(lead).l.mqlAt !== null) mqls++;
  return mqls;
}

function stepPerLead(): number {
  let mqls = 0;
  for (const lead of data.leads) {
    const last = lead[lead.length - 1];
    const r = step(model, newLeadState(model), lead, last ? last.at : t);
    if (r.state?.l.mqlAt != null) mqls++;
  }
  return mqls;
}

const perSecond = (m: Measurement<unknown>) => inputs / (m.bestMs / 1000);

function report(name: string, m: Measurement<unknown>, ceiling?: Measurement<unknown>) {
  const runs = m.runsMs.map(ms).join(", ");
  const micros = ((m.bestMs * 1000) / inputs).toFixed(3);
  let line = `${name.padEnd(10)} ${fmt(perSecond(m)).padStart(12)} events/s (${micros} µs each)   best ${ms(m.bestMs)}, median ${ms(m.medianMs)} (runs: ${runs})`;
  if (ceiling) {
    const ratio = perSecond(m) / perSecond(ceiling);
    line += `\n${"".padEnd(10)} ${(ratio * 100).toFixed(2)}% of the bare loop (${fmt(1 / ratio)}x slower)`;
  }
  console.log(line);
}

const bare = measure(bareLoop);
report("bare loop", bare);
const full = measure(recomputeAll);
report("evaluate", full, bare);
const live = measure(stepAll);
report("step", live, bare);
const batched = measure(stepPerLead);
report("step/lead", batched, bare);
console.log(
  `${"".padEnd(10)} (one step call per lead with all its inputs, as a pipeline draining a backlog would)`,
);
const states = data.leads.map(stepLead);

const stages = new Map<Stage, number>();
for (const s of states) stages.set(s.l.stage, (stages.get(s.l.stage) ?? 0) + 1);
const byStage = [...stages].sort((a, b) => b[1] - a[1]).map(([stage, n]) => `${stage} ${fmt(n)}`);
console.log(`\nstages at the end: ${byStage.join(", ")} (evaluate: ${fmt(full.result)} leads ever MQL)`);

const mismatch = firstMismatch(model, data.leads, states, t);
if (mismatch === null) console.log(`step equals recompute: yes (${fmt(states.length)} leads)`);
else {
  console.log(`step equals recompute: NO\n${mismatch}`);
  process.exitCode = 1;
}

const sizes = states.map((s) => Buffer.byteLength(JSON.stringify(s))).sort((a, b) => a - b);
const avgBytes = sizes.reduce((a, b) => a + b, 0) / sizes.length;
console.log(
  `state bytes per lead (JSON): avg ${fmt(avgBytes)}, p99 ${fmt(quantile(sizes, 0.99))}, max ${fmt(quantile(sizes, 1))}   target avg < ${fmt(STATE_TARGET_BYTES)}: ${verdict(avgBytes < STATE_TARGET_BYTES)}`,
);
const stepRate = perSecond(live);
console.log(
  `step on one core: ${fmt(stepRate)} events/s   target >= ${fmt(STEP_TARGET_PER_SECOND)}: ${verdict(stepRate >= STEP_TARGET_PER_SECOND)}`,
);
globalThis.gc?.();
const mem = process.memoryUsage();
console.log(
  `memory after GC, holding the events and the step states: rss ${mb(mem.rss)}, heapUsed ${mb(mem.heapUsed)}`,
);
