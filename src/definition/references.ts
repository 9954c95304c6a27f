/**
 * Which tasks an expression reads, found by walking its JSONata syntax tree (not by regex, so
 * `"tasks.a"` inside a string literal is no reference). These become implicit dependencies.
 */
import { expressionAst } from "./expressions.js";
import { simplePath } from "./simple-paths.js";
import { findTemplates } from "./templates.js";

type Node = Record<string, unknown>;

/** Parts of a path step evaluated against each item the step yields. */
const FILTER_KEYS = new Set(["stages", "predicate", "group"]);

const isNode = (value: unknown): value is Node => value !== null && typeof value === "object";

/**
 * The task names an expression body reads through `tasks.NAME`, `` tasks.`NAME` `` or
 * `$lookup(tasks, "NAME")` (also after `$.` or `$$.`), sorted and each once. Reads that cannot be
 * named statically (`tasks[$name]`, `tasks.*`, a variable bound to `tasks`) are not found.
 * `tasks["NAME"]` is not a read: in JSONata brackets filter, they do not look up a field
 * (see `bracketedTasks`). Returns [] when the body does not parse.
 *
 * @example
 * referencedTasks("tasks.extract.output.stdout & tasks.`load-db`.status") // ["extract", "load-db"]
 */
export function referencedTasks(body: string): string[] {
  return [...analyze(body).reads].sort();
}

/**
 * The names written `tasks["NAME"]` in a body: a JSONata filter that yields nothing, almost
 * certainly meant as `` tasks.`NAME` ``. Validation reports them.
 *
 * @example
 * bracketedTasks('tasks["load-db"].output') // ["load-db"]
 */
export function bracketedTasks(body: string): string[] {
  return [...analyze(body).bracketed].sort();
}

/** The names of the scope only an instance of a `forEach` task has. */
export const INSTANCE_VARIABLES: ReadonlySet<string> = new Set(["item", "index"]);

/**
 * What an expression body reads (`reads`), writes as a bracket filter (`bracketed`), and which
 * of the instance variables (`item`, `index`) it reads at its root (`variables`).
 */
export interface Found {
  reads: Set<string>;
  bracketed: Set<string>;
  variables: Set<string>;
}

/**
 * `referencedTasks` and `bracketedTasks` in one walk (unsorted), for validation, which needs both.
 *
 * @example
 * analyzeExpression("tasks.a.output").reads // Set { "a" }
 */
export function analyzeExpression(body: string): Found {
  return analyze(body);
}

function analyze(body: string): Found {
  const found: Found = { reads: new Set(), bracketed: new Set(), variables: new Set() };
  const path = simplePath(body);
  if (path !== undefined) {
    // `tasks.NAME...` reads NAME; any other plain path reads no task.
    if (path[0] === "tasks" && path[1] !== undefined) found.reads.add(path[1]);
    if (INSTANCE_VARIABLES.has(path[0]!)) found.variables.add(path[0]!);
    return found;
  }
  const ast = expressionAst(body);
  if (ast !== undefined) walk(ast, false, found);
  return found;
}

/**
 * The union of the tasks read by every expression in a deep value, sorted.
 *
 * @example
 * templateReferences({ a: "${{ tasks.x.output }}", b: ["${{ tasks.y.output }}"] }) // ["x", "y"]
 */
export function templateReferences(value: unknown): string[] {
  const names = new Set<string>();
  for (const found of findTemplates(value)) {
    for (const part of found.split.parts) {
      if (typeof part !== "string") for (const name of referencedTasks(part.body)) names.add(name);
    }
  }
  return [...names].sort();
}

/**
 * `relative` is true where the context is not the scope's root: inside a path's later steps and
 * its predicates, `tasks.x` names a field of the current item, not a task. Lambdas keep the context
 * they are written in, so they inherit the flag.
 */
function walk(value: unknown, relative: boolean, found: Found): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item, relative, found);
    return;
  }
  if (!isNode(value)) return;
  const lookup = lookedUpTask(value, relative);
  if (lookup !== undefined) found.reads.add(lookup);
  if (value.type === "path" && Array.isArray(value.steps)) {
    const steps = value.steps as unknown[];
    const name = taskOfPath(steps, relative, found);
    if (name !== undefined) found.reads.add(name);
    const field = rootField(steps, relative);
    if (field !== undefined && INSTANCE_VARIABLES.has(field)) found.variables.add(field);
    steps.forEach((step, index) => {
      if (index === 0 && isNode(step)) {
        // The first step keeps the path's context; only its filters see the items it yields.
        const read = lookedUpTask(step, relative);
        if (read !== undefined) found.reads.add(read);
        for (const [key, child] of Object.entries(step)) walk(child, relative || FILTER_KEYS.has(key), found);
      } else {
        walk(step, true, found);
      }
    });
    for (const [key, child] of Object.entries(value)) if (key !== "steps") walk(child, true, found);
    return;
  }
  for (const child of Object.values(value)) walk(child, relative, found);
}

/** `$lookup(tasks, "NAME")`: the JSONata way to read a field whose name is not an identifier. */
function lookedUpTask(node: Node, relative: boolean): string | undefined {
  if (node.type !== "function" || !isNode(node.procedure) || node.procedure.value !== "lookup")
    return undefined;
  const [object, key] = asArray(node.arguments);
  if (!isNode(object) || object.type !== "path" || !isNode(key) || key.type !== "string") return undefined;
  const steps = asArray(object.steps);
  const last = steps.at(-1);
  if (!isNode(last) || last.type !== "name" || last.value !== "tasks") return undefined;
  const rootOnly = steps.length === 1 ? !relative : steps.length === 2 && isRootVariable(steps[0], relative);
  return rootOnly ? String(key.value) : undefined;
}

/** `$$` is always the root; `$` is the root only where the context is. */
function isRootVariable(step: unknown, relative: boolean): boolean {
  return isNode(step) && step.type === "variable" && (step.value === "$" || (step.value === "" && !relative));
}

/** The task a path starting with `tasks` names, if it names one statically. */
function taskOfPath(steps: unknown[], relative: boolean, found: Found): string | undefined {
  let index = 0;
  const first = steps[0];
  if (isNode(first) && first.type === "variable") {
    if (isRootVariable(first, relative)) index = 1;
    else return undefined;
  } else if (relative) {
    return undefined;
  }
  const root = steps[index];
  if (!isNode(root) || root.type !== "name" || root.value !== "tasks") return undefined;
  const filters = [...asArray(root.stages), ...asArray(root.predicate)];
  const filter = filters[0];
  if (isNode(filter) && isNode(filter.expr) && filter.expr.type === "string")
    found.bracketed.add(String(filter.expr.value));
  if (filters.length > 0) return undefined;
  const next = steps[index + 1];
  if (isNode(next) && next.type === "name" && typeof next.value === "string") return next.value;
  return undefined;
}

/** The field of the scope's root a path starts with (`item`, `$$.item`), if it starts at the root. */
function rootField(steps: unknown[], relative: boolean): string | undefined {
  let index = 0;
  const first = steps[0];
  if (isNode(first) && first.type === "variable") {
    if (isRootVariable(first, relative)) index = 1;
    else return undefined;
  } else if (relative) {
    return undefined;
  }
  const root = steps[index];
  return isNode(root) && root.type === "name" && typeof root.value === "string" ? root.value : undefined;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
