import { ATTRIBUTION_MODELS, type AttributionModel } from "../../../src/analytics/attribution";

/** The analytics reports' JSON (docs/analytics.md), as the pages read it. */

export { ATTRIBUTION_MODELS };

export interface StageCount {
  stage: string;
  count: number;
  rate: number | null;
}
export interface FunnelReport {
  view: "range" | "cohort";
  leads: number;
  total: StageCount[];
  groups: { key: string | null; stages: StageCount[] }[];
}
export interface Interval {
  name: string;
  count: number;
  medianMs: number | null;
  p75Ms: number | null;
}
export interface VelocityReport {
  intervals: Interval[];
  groups: { key: string | null; intervals: Interval[] }[];
}
export interface SlaRow {
  key: string | null;
  handoffs: number;
  met: number;
  missed: number;
  pending: number;
  compliance: number | null;
}
export interface HandoffsReport {
  sla: SlaRow;
  byOwner: SlaRow[];
  byTeam: SlaRow[];
  rejections: { reason: string; count: number; share: number }[];
  recycling: { reMqls: number };
  weekly: { week: string; mqls: number; reMqls: number; capacity: number | null }[];
}
export const METRICS = ["lead", "mql", "sql", "opportunity", "won", "revenue"] as const;
export type Metric = (typeof METRICS)[number];
export const MODEL_LABELS: Record<AttributionModel, string> = {
  firstTouch: "First touch",
  lastTouch: "Last touch",
  linear: "Linear",
  uShaped: "U-shaped",
  wShaped: "W-shaped",
};
export interface AttributionReport {
  by: string;
  totals: Record<Metric, number>;
  rows: { key: string; models: Record<AttributionModel, Record<Metric, number>> }[];
}
export interface PathRow {
  path: string[];
  leads: number;
  converted: number;
  rate: number | null;
}
export interface PathsReport {
  leads: number;
  mqls: number;
  beforeMql: PathRow[];
  beforeWon: PathRow[];
}

/** A stage's count in a funnel's stages (0 when absent). */
export const stageCount = (stages: StageCount[] | undefined, stage: string) =>
  stages?.find((s) => s.stage === stage)?.count ?? 0;

/** A chart's series colours, told apart by people with the common colour blindnesses. */
export const PALETTE = ["#3867d6", "#eb3b5a", "#20bf6b", "#f7b731", "#8854d0", "#2d98da"];
