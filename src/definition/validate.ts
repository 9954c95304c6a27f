/**
 * Semantic checks of a compiled workflow: what a schema cannot see. Unknown tasks in `after` and in
 * expressions, cycles, expression syntax, `when` forms, input defaults against their types.
 * Problems carry paths into the source document, so the YAML loader can give line and column
 * and the builder the same messages without them.
 */
import { Graph } from "../graph/index.js";
import { quote, type Problem } from "./diagnostics.js";
import { checkExpressionSyntax } from "./expressions.js";
import { bracketedTasks, referencedTasks } from "./references.js";
import { formatPath } from "./schema-issues.js";
import type { WorkflowSpec } from "./spec.js";
import { findTemplates } from "./templates.js";

type Path = (string | number)[];

/**
 * Every semantic problem of a spec, in source order of the tasks.
 *
 * @example
 * checkWorkflow(compileWorkflow(source)) // [{ path: ["tasks", "load", "after", 0], task: "load", message: ... }]
 */
export function checkWorkflow(spec: WorkflowSpec): Problem[] {
  const names = Object.keys(spec.tasks);
  const problems: Problem[] = [];
  if (names.length === 0) {
    problems.push({ path: ["tasks"], message: '"tasks" is empty, expected at least one task' });
  }
  for (const [name, input] of Object.entries(spec.inputs)) {
    if (input.default !== undefined && !matchesType(input.default, input.type)) {
      problems.push({
        path: ["inputs", name, "default"],
        message: `input ${quote(name)}: "default" is ${quote(input.default)}, expected ${article(input.type)} (the input's type)`,
      });
    }
  }
  const allKnown = `(known tasks: ${[...names].sort().join(", ") || "none"})`;
  for (const [name, task] of Object.entries(spec.tasks)) {
    const others = names.filter((other) => other !== name);
    const known = `(known tasks: ${others.sort().join(", ") || "none"})`;
    const report = (path: Path, message: string) =>
      problems.push({
        path: ["tasks", name, ...path],
        task: name,
        message: `task ${quote(name)}: ${message}`,
      });
    task.after.forEach((predecessor, index) => {
      if (predecessor === name) report(["after", index], `"after" names the task itself`);
      else if (!Object.hasOwn(spec.tasks, predecessor))
        report(["after", index], `unknown task ${quote(predecessor)} in "after" ${known}`);
    });
    if (task.when !== undefined) {
      const split = findTemplates(task.when)[0]?.split;
      const single =
        split?.error === undefined && split?.parts.length === 1 && typeof split.parts[0] !== "string";
      if (!single && split?.error === undefined) {
        report(
          ["when"],
          `"when" is ${quote(task.when)}, expected one "\${{ }}" expression, like "\${{ inputs.count > 1 }}"`,
        );
      }
    }
    const fields: [Path, unknown, boolean][] = [
      [["with"], task.with, false],
      [["when"], task.when, false],
      [["undo", "with"], task.undo?.with, true],
    ];
    for (const [path, value, selfAllowed] of fields) {
      const context = selfAllowed ? { self: undefined, known: allKnown } : { self: name, known };
      checkTemplates(value, path, { tasks: spec.tasks, ...context }, report);
    }
  }
  checkTemplates(
    spec.output,
    ["output"],
    { tasks: spec.tasks, self: undefined, known: allKnown },
    (path, message) => problems.push({ path, message }),
  );
  const cycle = findCycle(spec);
  if (cycle !== null) {
    const first = cycle[0] as string;
    problems.push({
      path: ["tasks", first],
      at: "key",
      task: first,
      message: `cycle: ${cycle.join(" -> ")}; a task cannot wait for itself, directly or through other tasks`,
    });
  }
  return problems;
}

interface TemplateContext {
  tasks: WorkflowSpec["tasks"];
  /** The task whose fields are checked, which its own expressions may not read; undefined where it may. */
  self: string | undefined;
  known: string;
}

function checkTemplates(
  value: unknown,
  base: Path,
  context: TemplateContext,
  report: (path: Path, message: string) => void,
): void {
  for (const found of findTemplates(value)) {
    const path = [...base, ...found.path];
    const where = quote(formatPath(path));
    if (found.split.error !== undefined)
      report(path, `invalid template ${quote(found.text)} in ${where}: ${found.split.error}`);
    for (const part of found.split.parts) {
      if (typeof part === "string") continue;
      const syntax = checkExpressionSyntax(part.body);
      if (syntax !== null) {
        report(path, `invalid expression ${quote(part.source)} in ${where}: ${syntax}`);
        continue;
      }
      for (const name of bracketedTasks(part.body)) {
        report(
          path,
          `the expression ${quote(part.source)} in ${where} writes tasks[${quote(name)}], which JSONata reads as a filter, not a field: write tasks.\`${name}\``,
        );
      }
      for (const read of referencedTasks(part.body)) {
        if (read === context.self) {
          report(path, `the expression ${quote(part.source)} in ${where} reads the task itself`);
        } else if (!Object.hasOwn(context.tasks, read)) {
          report(
            path,
            `unknown task ${quote(read)} in the expression ${quote(part.source)} of ${where} ${context.known}${hyphenHint(read, context.tasks)}`,
          );
        }
      }
    }
  }
}

/** JSONata reads `tasks.load-db` as `tasks.load - db`: say how to write such a name. */
function hyphenHint(read: string, tasks: WorkflowSpec["tasks"]): string {
  const meant = Object.keys(tasks).find((name) => name.startsWith(`${read}-`));
  return meant === undefined ? "" : `; a name with "-" is written tasks.\`${meant}\``;
}

/**
 * One cycle among the known tasks, rotated to start at the task written first, so the message
 * does not depend on the search order. Self-references are reported elsewhere.
 */
function findCycle(spec: WorkflowSpec): string[] | null {
  const graph = new Graph<string>();
  for (const [name, task] of Object.entries(spec.tasks)) {
    graph.addNode(name);
    for (const predecessor of task.dependsOn) {
      if (predecessor !== name && Object.hasOwn(spec.tasks, predecessor)) graph.addEdge(predecessor, name);
    }
  }
  const cycle = graph.findCycle();
  if (cycle === null) return null;
  const order = Object.keys(spec.tasks);
  const loop = cycle.slice(0, -1);
  const start = loop.reduce(
    (best, node, index) => (order.indexOf(node) < order.indexOf(loop[best] as string) ? index : best),
    0,
  );
  const rotated = [...loop.slice(start), ...loop.slice(0, start)];
  return [...rotated, rotated[0] as string];
}

function matchesType(value: unknown, type: string): boolean {
  switch (type) {
    case "string":
    case "number":
    case "boolean":
      return typeof value === type;
    case "array":
      return Array.isArray(value);
    case "object":
      return value !== null && typeof value === "object" && !Array.isArray(value);
    default:
      return true;
  }
}

function article(type: string): string {
  return type === "array" || type === "object" ? `an ${type}` : `a ${type}`;
}
