/**
 * Dynamic fan-out (`forEach`) with sync points, not memory. A forEach task's own run is claimed
 * like any run; its worker evaluates the list and reports it (`expanded` outcome). The engine then,
 * in that same transaction, moves the run to `expanded` with `pending` = the number of items and
 * inserts one instance run per item (`NAME[i]`, kind `instance`, its item in `item`), each a
 * predecessor of the task's run. `maxParallel` N chains instance i >= N behind instance i - N
 * (blocked, pending 1, rule all_done), so at most N run at once and every step costs O(1).
 * When the last instance ends, `decrementSyncPoints` answers the task's run; the engine reads its
 * instances once (O(n) once) and ends it: succeeded with their outputs in order, or failed with
 * the first failed instance's error. It then propagates like any end.
 */
import type { TaskError } from "../shared/errors.js";
import type { RunRef } from "./engine.js";
import { newRun } from "./plan.js";
import { EventType, RunKind, type RunChange, type RunKey, type TaskRunRecord } from "./store.js";
import type { Transition } from "./transitions.js";

/** At most this many items per forEach: a list of a million would be a million rows in one commit. */
export const MAX_FOR_EACH_ITEMS = 100_000;

/** The name of the instance of `task` for the item at `index`. */
export function instanceName(task: string, index: number): string {
  return `${task}[${index}]`;
}

const INSTANCE = /^(.*)\[(\d+)\]$/;

/**
 * The task of the spec a run belongs to: its own name, or, for an instance `NAME[i]`, `NAME`
 * (task names cannot hold `[`, so the two never clash).
 *
 * @example
 * specTaskOf("resize[12]") // "resize"
 */
export function specTaskOf(runTask: string): string {
  return INSTANCE.exec(runTask)?.[1] ?? runTask;
}

/** The index of an instance from its name (`NAME[i]`), or undefined for any other run. */
export function instanceIndex(runTask: string): number | undefined {
  const match = INSTANCE.exec(runTask);
  return match ? Number(match[2]) : undefined;
}

/** Where the instances of an expanded run are: seqs `first` .. `first + count - 1`, in item order. */
export interface InstanceRange {
  first: number;
  count: number;
}

/** The output an expanded run holds until it ends: where its instances are. */
function rangeOf(run: TaskRunRecord): InstanceRange | undefined {
  const instances = (run.output as { instances?: InstanceRange } | null)?.instances;
  return instances && typeof instances.first === "number" ? instances : undefined;
}

/**
 * Expands the reported runs (a non-empty list each; an empty list ends as a success, see
 * outcomes.ts): compare-and-set running -> expanded, fresh seqs for the instances, their insert.
 * Answers, in order, whether each was applied (false: a stale or duplicate report), and the runs
 * a later traversal superseded while their list was evaluated: they expand into nothing and end
 * cancelled here, for the caller to propagate (which releases their task in that traversal).
 */
export async function expandRuns(
  t: Transition,
  expansions: readonly { run: RunRef; items: readonly unknown[] }[],
): Promise<{ applied: boolean[]; superseded: TaskRunRecord[] }> {
  const applied: boolean[] = [];
  const superseded: TaskRunRecord[] = [];
  for (const { run, items } of expansions) {
    const parent = await t.tx.updateRun(
      {
        executionId: run.executionId,
        seq: run.seq,
        status: ["running"],
        attempt: run.attempt,
        traversal: run.traversal,
      },
      {
        status: "expanded",
        pending: items.length,
        // The counters now count instances: the task's own predecessors were decided already.
        failedPredecessors: 0,
        skippedPredecessors: 0,
        leaseOwner: null,
        leaseExpiresAt: null,
      },
    );
    applied.push(parent !== null);
    if (!parent) continue;
    if (parent.supersededBy !== null) {
      const cancelled = await t.tx.updateRun(
        { executionId: run.executionId, seq: run.seq, status: ["expanded"], traversal: run.traversal },
        { status: "cancelled", finishedAt: t.now },
      );
      if (cancelled) superseded.push(cancelled);
      continue;
    }
    const first = await t.tx.allocateSeqs(run.executionId, items.length);
    const range: InstanceRange = { first, count: items.length };
    const expanded = await t.tx.updateRun(
      { executionId: run.executionId, seq: run.seq, status: ["expanded"], traversal: run.traversal },
      { output: { instances: range } },
    );
    const { spec } = await t.specs.get(t.tx, run.executionId, run.traversal);
    const task = spec.tasks[parent.task]!;
    const limit = task.maxParallel ?? items.length;
    const instances = items.map((item, i) => {
      const successors = i + limit < items.length ? [first + i + limit, parent.seq] : [parent.seq];
      const ready = i < limit;
      return newRun(run.executionId, run.traversal, t.now, {
        seq: first + i,
        task: instanceName(parent.task, i),
        kind: RunKind.instance,
        status: ready ? "ready" : "blocked",
        pending: ready ? 0 : 1,
        // A chained instance runs whatever the one before it in its slot became.
        rule: "all_done",
        successors,
        maxAttempts: task.retry.attempts,
        timeout: task.timeout ?? null,
        code: parent.code,
        item: item === undefined ? null : item,
      });
    });
    await t.tx.insertRuns(instances);
    t.runEvent(EventType.taskExpanded, expanded ?? parent, {
      data: { instances: items.length, maxParallel: task.maxParallel ?? null },
    });
    for (const instance of instances) if (instance.status === "ready") t.markReady(instance);
  }
  return { applied, superseded };
}

/**
 * Ends the expanded runs whose last instance just ended (their sync point reached zero): reads
 * their instances in one store call, then ends each, succeeded with the outputs in item order or
 * failed with the first failed instance's error, in one more. Answers the runs it ended, for
 * propagation.
 */
export async function endExpanded(
  t: Transition,
  parents: readonly TaskRunRecord[],
): Promise<TaskRunRecord[]> {
  const keys: RunKey[] = [];
  const ranges = parents.map((parent) => {
    const range = rangeOf(parent) ?? { first: 0, count: 0 };
    for (let i = 0; i < range.count; i++)
      keys.push({ executionId: parent.executionId, seq: range.first + i });
    return range;
  });
  const instances = keys.length > 0 ? await t.tx.getRunsByKey(keys) : [];
  let at = 0;
  const changes: RunChange[] = parents.map((parent, p) => {
    const mine = instances.slice(at, at + ranges[p]!.count);
    at += ranges[p]!.count;
    const failed = mine.find((run) => run?.status !== "succeeded");
    const guard = {
      executionId: parent.executionId,
      seq: parent.seq,
      status: ["expanded" as const],
      traversal: parent.traversal,
    };
    if (failed === undefined && mine.length === ranges[p]!.count)
      return {
        guard,
        patch: { status: "succeeded", output: mine.map((run) => run!.output), finishedAt: t.now },
      };
    return {
      guard,
      patch: { status: "failed", output: null, error: instanceError(failed), finishedAt: t.now },
    };
  });
  const ended = changes.length > 0 ? await t.tx.updateRuns(changes) : [];
  return ended.filter((run): run is TaskRunRecord => run !== null);
}

/** The error of a forEach task whose instance did not succeed: that instance's, naming it. */
function instanceError(instance: TaskRunRecord | undefined): TaskError {
  if (!instance) return { type: "Error", message: "an instance of the forEach vanished", retryable: false };
  const why = instance.error?.message ?? `it ended ${instance.status}`;
  return { type: instance.error?.type ?? "Error", message: `${instance.task}: ${why}`, retryable: false };
}
