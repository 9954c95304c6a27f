/**
 * Benchmark: a generated workflow of 100,000 tasks, defined with a loop over `.task()` and validated
 * (`.spec`). Run with `npx tsx bench/builder.ts`; `bench/run.ts` imports `benchBuilder`. Reference
 * measured in the same run: validating the same workflow written as a plain object (`parseWorkflow`
 * of its JSON text), so the builder's own cost is the difference.
 */
import { pathToFileURL } from "node:url";
import { parseWorkflow, workflow } from "../src/definition/index.js";
import { median } from "./timing.js";

/** The figures of one run; times are medians in milliseconds. */
export interface BuilderResult {
  tasks: number;
  /** `.task()` calls only. */
  defineMs: number;
  /** `.task()` calls, then `.spec`. */
  defineAndValidateMs: number;
  /** The same definition as a JSON text through `parseWorkflow`. */
  jsonMs: number;
}

/** Task i reads task i-1 in an expression and waits for task i-2, as in bench/validate.ts. */
function options(i: number) {
  return {
    action: "echo" as const,
    with: { message: i === 0 ? "start" : `\${{ tasks.t${i - 1}.output }}` },
    ...(i > 1 ? { after: [`t${i - 2}`] } : {}),
  };
}

function define(tasks: number) {
  // The loop users write for generated workflows: `after` names are only known as strings.
  let flow = workflow("big");
  for (let i = 0; i < tasks; i++) flow = flow.task(`t${i}`, options(i) as never);
  return flow;
}

/**
 * Times defining and validating a generated workflow, and its reference.
 *
 * @example
 * const { defineAndValidateMs, jsonMs } = await benchBuilder({ tasks: 10_000 });
 */
export async function benchBuilder(options_: { tasks?: number; runs?: number } = {}): Promise<BuilderResult> {
  const { tasks = 100_000, runs = 3 } = options_;
  const map: Record<string, unknown> = {};
  for (let i = 0; i < tasks; i++) map[`t${i}`] = options(i);
  const json = JSON.stringify({ name: "big", tasks: map });
  const result: BuilderResult = {
    tasks,
    defineMs: median(runs, () => define(tasks)),
    defineAndValidateMs: median(runs, () => define(tasks).spec),
    jsonMs: median(runs, () => parseWorkflow(json, "big.json")),
  };
  await new Promise((resolve) => setImmediate(resolve));
  return result;
}

/** The bench's line, beside its reference. */
export function formatBuilderBench(r: BuilderResult): string {
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  return `builder ${fmt(r.tasks)} tasks: defined ${fmt(r.defineMs)} ms, defined + validated ${fmt(r.defineAndValidateMs)} ms (reference: the same workflow as JSON through parseWorkflow ${fmt(r.jsonMs)} ms)\n`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(formatBuilderBench(await benchBuilder()));
}
