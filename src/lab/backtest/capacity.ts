import { parseDocument } from "yaml";
import type { Queryable } from "../../db/database.js";
import { compileModel, loadModel } from "../../engine/index.js";
import { QualifyError } from "../../errors.js";
import { type BacktestModel, backtest, type ModelResult } from "./backtest.js";

/**
 * The threshold for a sales capacity (docs/model-lab.md): the model's MQL score thresholds (every
 * `score` condition's `gte`/`gt` in `qualification.mql`) scaled together by a factor, each factor
 * backtested in the same pass over the history, and the factor whose MQLs per week fit the
 * capacity suggested: the lowest thresholds whose weekly average stays within it.
 */

export const FACTORS = Array.from({ length: 29 }, (_, i) => Math.round((0.2 + i * 0.1) * 10) / 10);
const WEEK = 7 * 86_400_000;

export interface CapacityPoint {
  factor: number;
  /** The scaled thresholds, in the order the MQL condition has them. */
  thresholds: number[];
  mqlsPerWeek: number;
  precision: number | null;
  recall: number | null;
}

export interface CapacityReport {
  capacity: number;
  weeks: number;
  current: CapacityPoint;
  /** null when even the highest thresholds tried exceed the capacity. */
  suggested: CapacityPoint | null;
  curve: CapacityPoint[];
  /** The suggested model, as YAML. */
  model: string | null;
}

/** The model's YAML with every MQL score threshold multiplied by `factor` (to hundredths). */
export function scaleThresholds(source: string, factor: number): { yaml: string; thresholds: number[] } {
  const doc = parseDocument(source);
  const thresholds: number[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const x of node) walk(x);
      return;
    }
    if (node === null || typeof node !== "object") return;
    const o = node as Record<string, unknown>;
    if ("score" in o)
      for (const op of ["gte", "gt"])
        if (typeof o[op] === "number") {
          o[op] = Math.round((o[op] as number) * factor * 100) / 100;
          thresholds.push(o[op] as number);
        }
    for (const v of Object.values(o)) walk(v);
  };
  const spec = doc.toJS() as Record<string, unknown>;
  const q = spec.qualification as Record<string, unknown> | undefined;
  walk(q?.mql);
  if (q) doc.setIn(["qualification", "mql"], q.mql);
  return { yaml: doc.toString(), thresholds };
}

export async function capacityReport(
  q: Queryable,
  ws: string,
  source: string,
  capacity: number,
  o: { from: number; to: number; threads?: number },
): Promise<CapacityReport> {
  if (scaleThresholds(source, 1).thresholds.length === 0)
    throw new QualifyError("INPUT_INVALID", "the model's MQL condition has no score threshold to move", [
      { path: "qualification.mql", message: "no `score` condition with gte or gt" },
    ]);
  const variants = FACTORS.map((factor) => ({ factor, ...scaleThresholds(source, factor) }));
  const models: BacktestModel[] = variants.map((v) => ({
    label: `×${v.factor}`,
    model: compileModel(loadModel(v.yaml, `thresholds ×${v.factor}`)),
  }));
  const r = await backtest(q, ws, models, { ...o, examples: 0 });
  const weeks = (o.to - o.from) / WEEK;
  const point = (m: ModelResult, i: number): CapacityPoint => ({
    factor: (variants[i] as (typeof variants)[number]).factor,
    thresholds: (variants[i] as (typeof variants)[number]).thresholds,
    mqlsPerWeek: m.mqls / weeks,
    precision: m.precision.rate,
    recall: m.recall.rate,
  });
  const curve = r.models.map(point);
  const current = curve[FACTORS.indexOf(1)] as CapacityPoint;
  const suggested = curve.find((p) => p.mqlsPerWeek <= capacity) ?? null;
  return {
    capacity,
    weeks,
    current,
    suggested,
    curve,
    model: suggested === null ? null : (variants[curve.indexOf(suggested)] as (typeof variants)[number]).yaml,
  };
}
