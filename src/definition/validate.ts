/**
 * Semantic checks of a compiled workflow: what a schema cannot see. Unknown tasks in `after` and in
 * expressions, cycles, expression syntax, `when` forms, input defaults against their types.
 * Problems carry paths into the source document, so the YAML loader can give line and column
 * and the builder the same messages without them.
 */
import { Graph } from "../graph/index.js";
import { argumentProblems } from "./check-arguments.js";
import { quote, type Problem } from "./diagnostics.js";
import { checkExpressionSyntax } from "./expressions.js";
import { analyzeExpression } from "./references.js";
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
  const sorted = [...names].sort();
  const allKnown = knownTasks(sorted, undefined);
  const hints = new HyphenHints(names);
  for (const [name, task] of Object.entries(spec.tasks)) {
    // A function, not a string: building the list for every task made validation quadratic.
    const known = () => knownTasks(sorted, name);
    const report = (path: Path, message: string) =>
      problems.push({
        path: ["tasks", name, ...path],
        task: name,
        message: `task ${quote(name)}: ${message}`,
      });
    task.after.forEach((predecessor, index) => {
      if (predecessor === name) report(["after", index], `"after" names the task itself`);
      else if (!Object.hasOwn(spec.tasks, predecessor))
        report(["after", index], `unknown task ${quote(predecessor)} in "after" ${known()}`);
    });
    if (task.when !== undefined && !isSingleExpression(task.when)) {
      report(
        ["when"],
        `"when" is ${quote(task.when)}, expected one "\${{ }}" expression, like "\${{ inputs.count > 1 }}"`,
      );
    }
    if (task.forEach !== undefined && !isSingleExpression(task.forEach)) {
      report(
        ["forEach"],
        `"forEach" is ${quote(task.forEach)}, expected one "\${{ }}" expression yielding a list, like "\${{ tasks.list.output.items }}"`,
      );
    }
    if (task.maxParallel !== undefined && task.forEach === undefined)
      report(["maxParallel"], `"maxParallel" needs "forEach": it bounds how many instances run at once`);
    if (task.action === "workflow" && task.with.workflow === spec.name) {
      report(
        ["with", "workflow"],
        `"with.workflow" is ${quote(spec.name)}, the workflow itself: a workflow cannot start itself as its own sub-workflow`,
      );
    }
    if (task.undo?.action === "workflow") {
      // An undo runs in the compensation order and waits for nothing: it cannot await a child.
      report(
        ["undo", "action"],
        `"undo.action" is "workflow": an undo cannot start a sub-workflow, use another action`,
      );
    }
    // Pushed one by one: a spread of thousands of problems would overflow the call stack.
    for (const problem of argumentProblems(name, task)) problems.push(problem);
    // [where, value, may read the task itself, may read item and index]
    const fields: [Path, unknown, boolean, boolean][] = [
      [["with"], task.with, false, task.forEach !== undefined],
      [["when"], task.when, false, false],
      [["forEach"], task.forEach, false, false],
      // A forEach task's undo runs once per instance: it reads item and index too.
      [["undo", "with"], task.undo?.with, true, task.forEach !== undefined],
    ];
    for (const [path, value, selfAllowed, instance] of fields) {
      const context = selfAllowed ? { self: undefined, known: () => allKnown } : { self: name, known };
      checkTemplates(value, path, { tasks: spec.tasks, hints, instance, ...context }, report);
    }
  }
  checkTemplates(
    spec.output,
    ["output"],
    { tasks: spec.tasks, hints, self: undefined, known: () => allKnown, instance: false },
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
  known: () => string;
  hints: HyphenHints;
  /** Whether expressions here run in an instance of a forEach task, where `item` and `index` exist. */
  instance: boolean;
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
      const found = analyzeExpression(part.body);
      for (const name of [...found.bracketed].sort()) {
        report(
          path,
          `the expression ${quote(part.source)} in ${where} writes tasks[${quote(name)}], which JSONata reads as a filter, not a field: write tasks.\`${name}\``,
        );
      }
      if (!context.instance) {
        for (const variable of [...found.variables].sort()) {
          report(
            path,
            `the expression ${quote(part.source)} in ${where} reads ${variable}, which exists only in the "with" of a task with "forEach"`,
          );
        }
      }
      for (const read of [...found.reads].sort()) {
        if (read === context.self) {
          report(path, `the expression ${quote(part.source)} in ${where} reads the task itself`);
        } else if (!Object.hasOwn(context.tasks, read)) {
          report(
            path,
            `unknown task ${quote(read)} in the expression ${quote(part.source)} of ${where} ${context.known()}${context.hints.hint(read)}`,
          );
        }
      }
    }
  }
}

/** Whether a string is exactly one `${{ }}` expression (a malformed one is reported elsewhere). */
function isSingleExpression(text: string): boolean {
  const split = findTemplates(text)[0]?.split;
  if (split?.error !== undefined) return true;
  return split?.parts.length === 1 && typeof split.parts[0] !== "string";
}

/** How many task names an "unknown task" message lists: with thousands, the list was the message. */
export const MAX_LISTED_TASKS = 20;

/**
 * `(known tasks: a, b, c)` from the sorted names, without `self` (one of them); past `MAX_LISTED_TASKS` names,
 * the first of them and how many more.
 */
function knownTasks(sorted: readonly string[], self: string | undefined): string {
  const listed: string[] = [];
  for (const name of sorted) {
    if (listed.length === MAX_LISTED_TASKS) break;
    if (name !== self) listed.push(name);
  }
  // `self` is always one of the names.
  const total = sorted.length - (self === undefined ? 0 : 1);
  const more = total > listed.length ? `, and ${(total - listed.length).toLocaleString("en-US")} more` : "";
  return `(known tasks: ${listed.join(", ") || "none"}${more})`;
}

/** JSONata reads `tasks.load-db` as `tasks.load - db`: say how to write such a name. */
class HyphenHints {
  private byHead: Map<string, string> | undefined;

  constructor(private readonly names: readonly string[]) {}

  /** The hint for a read of `read`, or "" when no task name starts with `read-`. */
  hint(read: string): string {
    // Built on the first unknown read only: most definitions have none.
    this.byHead ??= this.index();
    const meant = this.byHead.get(read);
    return meant === undefined ? "" : `; a name with "-" is written tasks.\`${meant}\``;
  }

  /** Every prefix ending before a "-" of a name, to the first name (in source order) that has it. */
  private index(): Map<string, string> {
    const byHead = new Map<string, string>();
    for (const name of this.names) {
      for (let at = name.indexOf("-"); at > 0; at = name.indexOf("-", at + 1)) {
        const head = name.slice(0, at);
        if (!byHead.has(head)) byHead.set(head, name);
      }
    }
    return byHead;
  }
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
  const order = new Map(Object.keys(spec.tasks).map((name, index) => [name, index]));
  const loop = cycle.slice(0, -1);
  const position = (node: string) => order.get(node) as number;
  const start = loop.reduce(
    (best, node, index) => (position(node) < position(loop[best] as string) ? index : best),
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
