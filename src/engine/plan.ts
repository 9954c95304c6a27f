import type { TaskSpec, WorkflowSpec } from "../definition/spec.js";
import { Graph } from "../graph/index.js";
import { RunKind, type TaskRunRecord } from "./store.js";

/** The task graph of a spec: an edge from each predecessor to the task that depends on it. */
export function taskGraph(spec: WorkflowSpec): Graph<string> {
  const graph = new Graph<string>();
  for (const name of Object.keys(spec.tasks)) graph.addNode(name);
  for (const [name, task] of Object.entries(spec.tasks)) {
    for (const dependency of task.dependsOn) graph.addEdge(dependency, name);
  }
  return graph;
}

/**
 * Where the runs of one traversal sit: from `base` (0 for an execution's first traversal, see
 * ExecutionRecord.base), its tasks take `base .. base+n-1` in topological order, then its end,
 * then one undo per task and the end of the undos: `size` seqs in all. Seqs are absolute.
 */
export interface RunLayout {
  order: string[];
  base: number;
  seqOf: Map<string, number>;
  endSeq: number;
  /** Seq of the undo of the task at seq `taskSeq`. */
  undoSeq(taskSeq: number): number;
  undoEndSeq: number;
  /** How many seqs the traversal holds. */
  size: number;
}

const layouts = new WeakMap<WorkflowSpec, Map<number, RunLayout>>();

/** The layout of a spec from `base`, computed once per spec object (specs are never changed in place). */
export function runLayout(spec: WorkflowSpec, base = 0): RunLayout {
  let byBase = layouts.get(spec);
  if (!byBase) {
    byBase = new Map();
    layouts.set(spec, byBase);
  }
  let layout = byBase.get(base);
  if (!layout) {
    const order = base === 0 ? taskGraph(spec).topologicalOrder() : runLayout(spec).order;
    layout = computeLayout(order, base);
    byBase.set(base, layout);
  }
  return layout;
}

function computeLayout(order: string[], base: number): RunLayout {
  const n = order.length;
  return {
    order,
    base,
    seqOf: new Map(order.map((name, i) => [name, base + i])),
    endSeq: base + n,
    undoSeq: (taskSeq) => taskSeq + n + 1,
    undoEndSeq: base + 2 * n + 1,
    size: 2 * n + 2,
  };
}

type RunShape = Pick<TaskRunRecord, "seq" | "task" | "kind" | "status" | "pending" | "rule" | "successors"> &
  Partial<
    Pick<
      TaskRunRecord,
      "maxAttempts" | "allowFailure" | "timeout" | "finishedAt" | "code" | "target" | "item"
    >
  >;

/** A new run with every field set, in one literal (one hidden class for all runs: they are many). */
export function newRun(executionId: string, traversal: string, now: number, shape: RunShape): TaskRunRecord {
  return {
    executionId,
    seq: shape.seq,
    task: shape.task,
    kind: shape.kind,
    status: shape.status,
    traversal,
    attempt: 0,
    maxAttempts: shape.maxAttempts ?? 1,
    interruptions: 0,
    pending: shape.pending,
    failedPredecessors: 0,
    skippedPredecessors: 0,
    rule: shape.rule,
    allowFailure: shape.allowFailure ?? false,
    successors: shape.successors,
    timeout: shape.timeout ?? null,
    runAfter: now,
    leaseOwner: null,
    leaseExpiresAt: null,
    deadline: null,
    tokenHash: null,
    code: shape.code ?? null,
    versionKey: null,
    reusedFrom: null,
    target: shape.target ?? null,
    undoneAt: null,
    supersededBy: null,
    item: shape.item ?? null,
    output: null,
    error: null,
    startedAt: null,
    finishedAt: shape.finishedAt ?? null,
  };
}

/**
 * The runs of a new execution: one per task, each with its sync point set to its number of
 * predecessors, plus the end sync point waiting for every leaf. Roots start ready. Runs of
 * `function` tasks carry `code` (the execution's code id): only a worker with those functions
 * claims them; every other run (actions, undos, the end) evaluates the spec only.
 */
export function planRuns(
  spec: WorkflowSpec,
  layout: RunLayout,
  executionId: string,
  traversal: string,
  now: number,
  code: string | null = null,
): TaskRunRecord[] {
  const successors = new Map<string, number[]>(layout.order.map((name) => [name, []]));
  for (const name of layout.order) {
    for (const dependency of spec.tasks[name]!.dependsOn)
      successors.get(dependency)!.push(layout.seqOf.get(name)!);
  }
  let leaves = 0;
  const runs: TaskRunRecord[] = layout.order.map((name, i) => {
    const seq = layout.base + i;
    const task = spec.tasks[name]!;
    const next = successors.get(name)!;
    if (next.length === 0) {
      leaves += 1;
      next.push(layout.endSeq);
    }
    return newRun(executionId, traversal, now, {
      seq,
      task: name,
      kind: RunKind.task,
      status: task.dependsOn.length === 0 ? "ready" : "blocked",
      pending: task.dependsOn.length,
      rule: task.trigger,
      successors: next,
      maxAttempts: task.retry.attempts,
      allowFailure: task.allowFailure,
      timeout: task.timeout ?? null,
      code: task.action === "function" ? code : null,
    });
  });
  runs.push(
    newRun(executionId, traversal, now, {
      seq: layout.endSeq,
      task: "$end",
      kind: RunKind.end,
      status: "blocked",
      pending: leaves,
      rule: "end",
      successors: [],
    }),
  );
  return runs;
}

/**
 * Whether a task that ended `status` has something to undo: it succeeded and has an undo, or,
 * for a forEach task, it failed or was cancelled after some of its instances succeeded.
 */
export function undoNeeded(task: TaskSpec, status: string): boolean {
  if (task.undo === undefined) return false;
  return (
    status === "succeeded" || (task.forEach !== undefined && (status === "failed" || status === "cancelled"))
  );
}

/**
 * The undo runs of an execution that must compensate: the task graph reversed, so that a
 * task's undo starts only after the undos of all its successors ended (the Heat seed's cleanup
 * order). Every task gets an undo run so the sync points stay uniform; those with nothing to
 * undo (the task did not succeed, or has no `undo`) are skipped as soon as their successors'
 * undos ended. Runs that are decided at once are created decided.
 */
export function planUndoRuns(
  spec: WorkflowSpec,
  layout: RunLayout,
  taskStatus: (seq: number) => string,
  executionId: string,
  traversal: string,
  now: number,
): TaskRunRecord[] {
  const n = layout.order.length;
  const { base } = layout;
  // By task index (seq - base).
  const endedAtOnce = new Array<boolean>(n).fill(false);
  const dependents = new Map<string, number[]>(layout.order.map((name) => [name, []]));
  for (const name of layout.order) {
    for (const dependency of spec.tasks[name]!.dependsOn)
      dependents.get(dependency)!.push(layout.seqOf.get(name)!);
  }
  const runs: TaskRunRecord[] = [];
  let rootsPending = 0;
  // Reverse topological order: a task's dependents are planned before it.
  for (let i = n - 1; i >= 0; i--) {
    const seq = base + i;
    const name = layout.order[i]!;
    const task = spec.tasks[name]!;
    const needed = undoNeeded(task, taskStatus(seq));
    const pending = dependents.get(name)!.filter((dependent) => !endedAtOnce[dependent - base]).length;
    const successors = task.dependsOn.map((dependency) => layout.undoSeq(layout.seqOf.get(dependency)!));
    if (successors.length === 0) successors.push(layout.undoEndSeq);
    let status: TaskRunRecord["status"] = "blocked";
    if (pending === 0) {
      status = needed ? "ready" : "skipped";
      endedAtOnce[i] = !needed;
    }
    if (task.dependsOn.length === 0 && !endedAtOnce[i]) rootsPending += 1;
    runs.push(
      newRun(executionId, traversal, now, {
        seq: layout.undoSeq(seq),
        task: name,
        kind: RunKind.undo,
        status,
        pending,
        rule: needed ? "all_done" : "undo_skip",
        successors,
        maxAttempts: task.retry.attempts,
        timeout: task.timeout ?? null,
        finishedAt: status === "skipped" ? now : null,
        target: seq,
      }),
    );
  }
  runs.push(
    newRun(executionId, traversal, now, {
      seq: layout.undoEndSeq,
      task: "$undo_end",
      kind: RunKind.undoEnd,
      status: "blocked",
      pending: rootsPending,
      rule: "end",
      successors: [],
    }),
  );
  return runs;
}
