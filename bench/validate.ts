/**
 * Benchmark: validating big definitions, 100,000 tasks as JSON and as YAML, and an invalid one of
 * 12,000 tasks (an error in every task). Run with `npx tsx bench/validate.ts`; `bench/run.ts` imports
 * `benchValidate`. References measured in the same run: `JSON.parse` of the same JSON text, and the
 * YAML library's `parseDocument` alone of the same YAML text (its duplicate-key check off, as Weft does) (a floor Weft cannot go below without another parser).
 */
import { pathToFileURL } from "node:url";
import { parseDocument } from "yaml";
import { parseWorkflow, validateWorkflowSource } from "../src/definition/index.js";
import { median } from "./timing.js";

/** The figures of one run; times are medians in milliseconds. */
export interface ValidateResult {
  tasks: number;
  jsonMs: number;
  jsonParseMs: number;
  yamlMs: number;
  yamlParseMs: number;
  invalidTasks: number;
  invalidMs: number;
  /** Diagnostics reported for the invalid definition (the first 100 and a count of the rest). */
  invalidDiagnostics: number;
}

/** Task i reads task i-1 in an expression and waits for task i-2: every check has work to do. */
function document(tasks: number, broken: boolean): { name: string; tasks: Record<string, unknown> } {
  const map: Record<string, unknown> = {};
  for (let i = 0; i < tasks; i++) {
    map[`t${i}`] = {
      action: "echo",
      with: { message: i === 0 ? "start" : `\${{ tasks.t${i - 1}.output }}` },
      ...(broken ? { after: [`missing${i}`] } : i > 1 ? { after: [`t${i - 2}`] } : {}),
    };
  }
  return { name: "big", tasks: map };
}

function yamlText(tasks: number): string {
  const lines = ["name: big", "tasks:"];
  for (let i = 0; i < tasks; i++) {
    lines.push(`  t${i}:`, "    action: echo");
    if (i > 1) lines.push(`    after: [t${i - 2}]`);
    lines.push(`    with: { message: "${i === 0 ? "start" : `\${{ tasks.t${i - 1}.output }}`}" }`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Builds the documents, then times each validation and its reference.
 *
 * @example
 * const { jsonMs, jsonParseMs } = await benchValidate({ tasks: 10_000 });
 */
export async function benchValidate(
  options: { tasks?: number; invalidTasks?: number; runs?: number } = {},
): Promise<ValidateResult> {
  const { tasks = 100_000, invalidTasks = 12_000, runs = 3 } = options;
  const json = JSON.stringify(document(tasks, false));
  const yaml = yamlText(tasks);
  const invalid = JSON.stringify(document(invalidTasks, true));
  const result: ValidateResult = {
    tasks,
    jsonMs: median(runs, () => parseWorkflow(json, "big.json")),
    jsonParseMs: median(runs, () => JSON.parse(json)),
    yamlMs: median(runs, () => parseWorkflow(yaml, "big.yaml")),
    yamlParseMs: median(runs, () => parseDocument(yaml, { uniqueKeys: false })),
    invalidTasks,
    invalidMs: median(runs, () => validateWorkflowSource(invalid, "invalid.json")),
    invalidDiagnostics: validateWorkflowSource(invalid, "invalid.json").length,
  };
  // Yield once so a runner calling several benchmarks in a row keeps its event loop responsive.
  await new Promise((resolve) => setImmediate(resolve));
  return result;
}

/** The bench's lines, each figure beside its reference. */
export function formatValidateBench(r: ValidateResult): string {
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  return [
    `validate ${fmt(r.tasks)} tasks, JSON: ${fmt(r.jsonMs)} ms (reference: JSON.parse of the same text ${fmt(r.jsonParseMs)} ms)`,
    `validate ${fmt(r.tasks)} tasks, YAML: ${fmt(r.yamlMs)} ms (reference: the YAML parser alone ${fmt(r.yamlParseMs)} ms)`,
    `validate ${fmt(r.invalidTasks)} tasks with an error each, JSON: ${fmt(r.invalidMs)} ms, ${r.invalidDiagnostics} diagnostics reported\n`,
  ].join("\n");
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(formatValidateBench(await benchValidate()));
}
