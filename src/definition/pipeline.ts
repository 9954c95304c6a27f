/**
 * The checks every definition goes through, whatever its source (YAML, JSON, the builder):
 * schema, then compile, then semantic checks. Shared so both sources give the same messages.
 */
import type { z } from "zod";
import { BUILDER_FILE, capDiagnostics, type Diagnostic, type Problem } from "./diagnostics.js";
import { compileWorkflow } from "./compile.js";
import { applyRepairs, schemaProblems, valueAt } from "./schema-issues.js";
import type { WorkflowSource } from "./schema.js";
import type { WorkflowSpec } from "./spec.js";
import { checkWorkflow } from "./validate.js";

/** A compiled spec when the document is valid, else every problem found. */
export type CompileResult = { spec: WorkflowSpec; problems: [] } | { spec?: undefined; problems: Problem[] };

/**
 * Checks and compiles a parsed document. When the schema fails, the document is repaired (bad
 * fields dropped) and the semantic checks run on what is left, so one pass reports both kinds of errors.
 *
 * @example
 * const { spec, problems } = compileSource(yamlData, workflowSchema);
 */
export function compileSource(data: unknown, schema: z.ZodType<WorkflowSource>): CompileResult {
  const reserved = reservedNames(data);
  if (reserved.length > 0) return { problems: reserved };
  const parsed = schema.safeParse(data);
  if (parsed.success) {
    const spec = compileWorkflow(parsed.data);
    const problems = checkWorkflow(spec);
    return problems.length === 0 ? { spec, problems: [] } : { problems };
  }
  const report = schemaProblems(parsed.error, data);
  const repairs = report.repairs;
  if (repairs === null) return { problems: report.problems };
  const repaired = schema.safeParse(applyRepairs(data, repairs));
  if (!repaired.success) return { problems: report.problems };
  // A set of paths, looked up by each prefix of a problem's path: comparing every problem with
  // every repair was quadratic on a definition with thousands of errors.
  const repairedPaths = new Set(repairs.map(({ path }) => pathKey(path)));
  const covered = (problem: Problem) =>
    problem.path.some((_, index) => repairedPaths.has(pathKey(problem.path.slice(0, index + 1))));
  const semantic = checkWorkflow(compileWorkflow(repaired.data)).filter((problem) => !covered(problem));
  return { problems: [...report.problems, ...semantic] };
}

function pathKey(path: readonly (string | number)[]): string {
  return JSON.stringify(path);
}

/**
 * `__proto__` as a task or input name: parsers keep it as an own key, but any copy into a plain
 * object (zod's included) turns it into a prototype, and the task would silently vanish.
 */
function reservedNames(data: unknown): Problem[] {
  const problems: Problem[] = [];
  for (const [field, kind] of [
    ["tasks", "task"],
    ["inputs", "input"],
  ] as const) {
    const map = valueAt(data, [field]);
    if (map !== null && typeof map === "object" && Object.hasOwn(map, "__proto__")) {
      problems.push({
        path: [field, "__proto__"],
        at: "key",
        message: `${kind} name "__proto__" is reserved, choose another name`,
      });
    }
  }
  return problems;
}

/**
 * Problems as diagnostics without a source position (the builder, `validateSpec`): file `<builder>`,
 * line and col 0, printed as `<builder>: message`.
 */
export function unplacedDiagnostics(problems: readonly Problem[], file = BUILDER_FILE): Diagnostic[] {
  return capDiagnostics(
    problems.map(({ message, task }) =>
      task === undefined ? { file, line: 0, col: 0, message } : { file, line: 0, col: 0, task, message },
    ),
  );
}
