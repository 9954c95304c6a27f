/**
 * The TypeScript builder: the same workflows as the DSL, written in code, plus `function` tasks whose
 * body is an in-process function. Its options use the DSL's names and forms (durations as `30s`,
 * `after` as one name or a list); `.spec` compiles them through the same schema and checks as files.
 */
import { DefinitionError, quote, type Problem } from "./diagnostics.js";
import { compileSource, unplacedDiagnostics } from "./pipeline.js";
import { builderWorkflowSchema, type DSL_ACTIONS, type DurationSource, type TaskSource } from "./schema.js";
import type { InputType, TaskContext, Trigger, WorkflowSpec } from "./spec.js";

/** The actions a builder task may name; `function` is implied by passing a function instead. */
export type ActionName = (typeof DSL_ACTIONS)[number];

/** A retry policy as written: unset fields come from `defaults.retry`, then `DEFAULT_RETRY`. */
export interface RetryOptions {
  attempts?: number;
  backoff?: DurationSource;
  factor?: number;
  maxBackoff?: DurationSource;
  /** Times an attempt whose worker was lost runs again (not counted in `attempts`). Default 3. */
  interruptions?: number;
}

/** The workflow-level options of `workflow(name, options)`: the DSL's top-level fields but `name` and `tasks`. */
export interface WorkflowOptions {
  version?: number;
  description?: string;
  inputs?: Record<string, { type?: InputType; default?: unknown; description?: string }>;
  defaults?: { retry?: RetryOptions; timeout?: DurationSource };
  /** Deadline of the whole execution. */
  timeout?: DurationSource;
  /** The execution's output; strings may hold `${{ }}` expressions. */
  output?: unknown;
}

/** The task fields shared by action and function tasks; `After` is the union of the names `after` may use. */
export interface CommonTaskOptions<After extends string = string> {
  with?: Record<string, unknown>;
  after?: After | readonly After[];
  when?: string;
  /**
   * A `${{ }}` expression yielding a list: the task runs once per item, its `with` reading `item`
   * and `index`; its output is the list of the instances' outputs, in order.
   */
  forEach?: string;
  /** With `forEach`: at most this many instances run at once. Default: no limit. */
  maxParallel?: number;
  trigger?: Trigger;
  allowFailure?: boolean;
  retry?: RetryOptions;
  timeout?: DurationSource;
  undo?: { action: ActionName; with?: Record<string, unknown> };
  description?: string;
}

/** A task run by a built-in action. */
export interface ActionTaskOptions<After extends string = string> extends CommonTaskOptions<After> {
  action: ActionName;
}

/** A task run by a function: its action is `function`, so it names none. */
export interface FunctionTaskOptions<After extends string = string> extends CommonTaskOptions<After> {
  action?: never;
}

/**
 * The body of a `function` task: `deps` maps each predecessor's name to its output.
 *
 * @example
 * const double: TaskFunction<{ extract: number }, number> = ({ extract }) => extract * 2;
 */
export type TaskFunction<Deps = Record<string, unknown>, Output = unknown> = (
  deps: Deps,
  ctx: TaskContext,
) => Output | Promise<Output>;

/** What the function of a `forEach` task receives beside `deps`: its instance's item and index. */
export type InstanceContext = TaskContext & { item: unknown; index: number };

/** The names of the tasks a workflow holds so far. */
export type TaskName<Outputs> = keyof Outputs & string;

/** What a function task's `deps` holds: the outputs of the tasks its `after` names. */
export type Deps<Outputs, After extends string> = {
  readonly [K in After]: K extends keyof Outputs ? Outputs[K] : never;
};

/**
 * One task added by `.task()`, linked to the one added before it. Workflows share these nodes, so
 * `.task()` is constant time: copying the task list and the function map on every call made a
 * generated 10,000-task workflow take 16 s to define.
 */
interface TaskNode {
  readonly name: string;
  readonly source: TaskSource;
  readonly fn: TaskFunction | undefined;
  readonly previous: TaskNode | undefined;
}

interface State {
  name: string;
  options: WorkflowOptions;
  /** The last task added; undefined before the first `.task()`. */
  last: TaskNode | undefined;
}

/** The tasks of a chain of nodes, in the order they were added. */
function tasksOf(last: TaskNode | undefined): TaskNode[] {
  const tasks: TaskNode[] = [];
  for (let node = last; node !== undefined; node = node.previous) tasks.push(node);
  return tasks.reverse();
}

/**
 * A workflow under construction. Immutable: each `.task()` returns a new `Workflow` whose `Outputs`
 * type also maps the new task's name to its output type, so later tasks' `deps` are typed.
 */
export class Workflow<Outputs extends Record<string, unknown> = Record<never, never>> {
  readonly #state: State;
  #spec: WorkflowSpec | undefined;
  #functions: ReadonlyMap<string, TaskFunction> | undefined;

  /** @internal Use `workflow(name, options)`. */
  constructor(state: State) {
    this.#state = state;
  }

  /** The workflow's name. */
  get name(): string {
    return this.#state.name;
  }

  /** The bodies of the `function` tasks, by task name. */
  get functions(): ReadonlyMap<string, TaskFunction> {
    // Built on first use, once per workflow: `.task()` only links a node.
    if (this.#functions === undefined) {
      const functions = new Map<string, TaskFunction>();
      for (const node of tasksOf(this.#state.last)) if (node.fn) functions.set(node.name, node.fn);
      this.#functions = functions;
    }
    return this.#functions;
  }

  /**
   * Adds a task run by a built-in action, or, when `fn` is given, by `fn` (action `function`).
   * `after` accepts only names of tasks added before. Type arguments are best inferred; written out,
   * `<N, O, After>` must all be given (`After` defaults to none).
   *
   * @example
   * workflow("etl")
   *   .task("extract", { action: "shell", with: { command: "echo 42" } })
   *   .task("parse", { after: "extract" }, ({ extract }) => Number((extract as { stdout: string }).stdout))
   *   .task("double", { after: ["parse"] }, ({ parse }) => parse * 2); // parse: number
   *
   * With `forEach`, the task runs once per item and its output type is a list:
   *
   * @example
   * workflow("squares")
   *   .task("list", { action: "echo", with: { message: [1, 2, 3] } })
   *   .task("square", { after: "list", forEach: "${{ tasks.list.output.message }}" },
   *     (_deps, { item }) => (item as number) ** 2) // square: number[]
   */
  task<N extends string, O = unknown, After extends TaskName<Outputs> = never>(
    name: N,
    options: ActionTaskOptions<After> & { forEach: string },
  ): Workflow<Outputs & Record<N, Awaited<O>[]>>;
  task<N extends string, O, After extends TaskName<Outputs> = never>(
    name: N,
    options: FunctionTaskOptions<After> & { forEach: string },
    fn: (deps: Deps<Outputs, After>, ctx: InstanceContext) => O,
  ): Workflow<Outputs & Record<N, Awaited<O>[]>>;
  task<N extends string, O = unknown, After extends TaskName<Outputs> = never>(
    name: N,
    options: ActionTaskOptions<After>,
  ): Workflow<Outputs & Record<N, Awaited<O>>>;
  task<N extends string, O, After extends TaskName<Outputs> = never>(
    name: N,
    options: FunctionTaskOptions<After>,
    fn: (deps: Deps<Outputs, After>, ctx: TaskContext) => O,
  ): Workflow<Outputs & Record<N, Awaited<O>>>;
  task(
    name: string,
    options: ActionTaskOptions | FunctionTaskOptions,
    fn?: (deps: never, ctx: never) => unknown,
  ): unknown {
    const source = { ...options, action: fn ? (options.action ?? "function") : options.action } as TaskSource;
    const last: TaskNode = { name, source, fn: fn as TaskFunction | undefined, previous: this.#state.last };
    return new Workflow({ ...this.#state, last });
  }

  /**
   * The compiled spec: defaults applied, durations in ms, `dependsOn` computed, validated like a
   * file. Throws `DefinitionError` (diagnostics at `<builder>`, no line) listing every problem.
   *
   * @example
   * const spec = workflow("hello").task("hi", { action: "echo", with: { message: "hi" } }).spec;
   */
  get spec(): WorkflowSpec {
    if (this.#spec !== undefined) return this.#spec;
    const { name, options } = this.#state;
    const functions = this.functions;
    const problems: Problem[] = [];
    const seen = new Set<string>();
    const nodes = tasksOf(this.#state.last);
    for (const { name: task, source } of nodes) {
      const prefix = `task ${quote(task)}: `;
      if (seen.has(task)) {
        problems.push({
          path: ["tasks", task],
          task,
          message: `duplicate task name ${quote(task)}: each task needs a name of its own`,
        });
      }
      seen.add(task);
      if (source.action === "function" && !functions.has(task)) {
        problems.push({
          path: ["tasks", task],
          task,
          message: `${prefix}action "function" needs a function: pass it as the third argument of .task()`,
        });
      } else if (functions.has(task) && source.action !== "function") {
        problems.push({
          path: ["tasks", task],
          task,
          message: `${prefix}a task with a function takes no "action" (it is "function"), got ${quote(source.action)}`,
        });
      }
    }
    const result = compileSource(
      // fromEntries defines own keys: a task named "__proto__" stays a task and is reported as reserved.
      { ...options, name, tasks: Object.fromEntries(nodes.map((node) => [node.name, node.source])) },
      builderWorkflowSchema,
    );
    problems.push(...result.problems);
    if (problems.length > 0 || result.spec === undefined)
      throw new DefinitionError(unplacedDiagnostics(problems));
    this.#spec = result.spec;
    return result.spec;
  }
}

/**
 * Starts a workflow in TypeScript. `options` takes the DSL's top-level fields in the same forms.
 *
 * @example
 * const flow = workflow("etl", { inputs: { count: { type: "number", default: 3 } } })
 *   .task("extract", { action: "shell", with: { command: "echo 42" } });
 * flow.spec; // the WorkflowSpec, as `parseWorkflow` would compile the same YAML
 */
export function workflow(name: string, options: WorkflowOptions = {}): Workflow {
  return new Workflow({ name, options, last: undefined });
}
