import { readFileSync } from "node:fs";
import { parse, stringify } from "yaml";

/** Reads the `yaml example` blocks of a Markdown file: each is a model plus a step table. */

export interface ExampleStep {
  at: string;
  send?: SendItem | SendItem[];
  expect?: {
    scores?: Record<string, number>;
    grade?: string;
    stage?: string;
    qualification?: string;
    contributions?: Record<string, unknown>[];
    transitions?: (string | Record<string, unknown>)[];
    ignored?: number;
  };
}

export type SendItem = { id?: string; at?: string } & (
  | { track: string; properties?: Record<string, unknown> }
  | { page: string; name?: string }
  | { identify: Record<string, unknown> }
  | { group: string; traits?: Record<string, unknown> }
  | { fact: string; actor?: string; by?: string; reason?: string }
);

export interface WorkedExample {
  title: string;
  modelYaml: string;
  steps: ExampleStep[];
}

export function readWorkedExamples(markdownFile: string): WorkedExample[] {
  const text = readFileSync(markdownFile, "utf8");
  const blocks = [...text.matchAll(/```yaml example\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  return blocks.map((block) => {
    const doc = parse(block) as { title: string; model: Record<string, unknown>; steps: ExampleStep[] };
    const model = {
      name: "example",
      version: 1,
      qualification: { mql: { score: "engagement", gte: 1_000_000 } },
      ...doc.model,
    };
    return { title: doc.title, modelYaml: stringify(model), steps: doc.steps };
  });
}
