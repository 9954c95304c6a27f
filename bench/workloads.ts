/** The no-op workflows the benchmark runs, built as plain specs (no parsing in the timings). */
import { DEFAULT_RETRY, type TaskSpec, type WorkflowSpec } from "../src/definition/spec.js";

function task(dependsOn: string[]): TaskSpec {
  return {
    action: "noop",
    with: {},
    dependsOn,
    after: dependsOn,
    trigger: "all_success",
    allowFailure: false,
    retry: { ...DEFAULT_RETRY },
  };
}

function spec(name: string, tasks: Record<string, TaskSpec>): WorkflowSpec {
  return { name, inputs: {}, tasks };
}

/** t0 -> t1 -> ... -> t(n-1) */
export function chain(n: number): WorkflowSpec {
  const tasks: Record<string, TaskSpec> = {};
  for (let i = 0; i < n; i++) tasks[`t${i}`] = task(i === 0 ? [] : [`t${i - 1}`]);
  return spec(`chain-${n}`, tasks);
}

/** split -> n parallel tasks -> join: n + 2 tasks. */
export function fanOut(n: number): WorkflowSpec {
  const tasks: Record<string, TaskSpec> = { split: task([]) };
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    names.push(`w${i}`);
    tasks[`w${i}`] = task(["split"]);
  }
  tasks.join = task(names);
  return spec(`fan-out-${n}`, tasks);
}

/** A seeded random layered DAG: `layers` layers, each task depending on up to 3 tasks of the previous layer. */
export function layered(n: number, layers = 100, seed = 42): WorkflowSpec {
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const width = Math.ceil(n / layers);
  const tasks: Record<string, TaskSpec> = {};
  for (let layer = 0; layer < layers; layer++) {
    for (let i = 0; i < width && layer * width + i < n; i++) {
      const deps = new Set<string>();
      if (layer > 0)
        for (let k = 0; k < 1 + Math.floor(random() * 3); k++)
          deps.add(`l${layer - 1}_${Math.floor(random() * width)}`);
      tasks[`l${layer}_${i}`] = task([...deps].filter((d) => d in tasks));
    }
  }
  return spec(`layered-${n}`, tasks);
}

/**
 * The reference: a plain in-process topological executor with no store. It runs each ready no-op
 * task as an async call and counts down in-memory predecessor counters, nothing else.
 */
export async function plainExecutor(workflow: WorkflowSpec): Promise<void> {
  const names = Object.keys(workflow.tasks);
  const pending = new Map<string, number>();
  const successors = new Map<string, string[]>(names.map((name) => [name, []]));
  for (const name of names) {
    const deps = workflow.tasks[name]!.dependsOn;
    pending.set(name, deps.length);
    for (const dep of deps) successors.get(dep)!.push(name);
  }
  const outputs = new Map<string, unknown>();
  let ready = names.filter((name) => pending.get(name) === 0);
  const noop = async (args: Record<string, unknown>) => args;
  while (ready.length > 0) {
    const batch = ready;
    ready = [];
    await Promise.all(
      batch.map(async (name) => {
        outputs.set(name, await noop(workflow.tasks[name]!.with));
        for (const next of successors.get(name)!) {
          const left = pending.get(next)! - 1;
          pending.set(next, left);
          if (left === 0) ready.push(next);
        }
      }),
    );
  }
}

/**
 * list -> each (forEach over the list's n items, at most `maxParallel` at once) -> join: the
 * dynamic counterpart of `fanOut(n)`, with n instance runs instead of n tasks in the spec.
 */
export function forEachFanOut(n: number, maxParallel?: number): WorkflowSpec {
  const items = Array.from({ length: n }, (_, i) => i);
  const list: TaskSpec = { ...task([]), action: "echo", with: { message: items } };
  const each: TaskSpec = {
    ...task(["list"]),
    forEach: "${{ tasks.list.output }}",
    ...(maxParallel === undefined ? {} : { maxParallel }),
  };
  return spec(`for-each-${n}`, { list, each, join: task(["each"]) });
}
