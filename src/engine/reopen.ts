/**
 * Retrying a failed task by hand (`POST /v1/executions/{id}/tasks/{task}/retry`): the task gets
 * a fresh set of attempts, every run its failure decided (skipped successors, the end) goes back
 * to blocked with its sync point recounted from its predecessors as they stand, and the
 * execution runs again. O(size of the execution), which is fine for an operator's action.
 */
import { StateConflictError } from "./errors.js";
import { isTerminalTask } from "./states.js";
import { EventType, RunKind, type ExecutionRecord, type TaskRunRecord } from "./store.js";
import type { Transition } from "./transitions.js";

export async function reopenTask(t: Transition, execution: ExecutionRecord, task: string): Promise<void> {
  if (execution.status !== "failed" && execution.status !== "running") {
    throw new StateConflictError(
      `Execution ${execution.id} is ${execution.status}: only a failed or running execution can retry a task.`,
    );
  }
  // Only the current traversal's runs: an updated execution keeps its earlier ones.
  const runs = (await t.tx.listRuns(execution.id)).filter((run) => run.traversal === execution.traversal);
  if (runs.some((run) => run.kind === RunKind.undo)) {
    throw new StateConflictError(
      `Execution ${execution.id} already ran its undos: start a new execution instead.`,
    );
  }
  const target = runs.find((run) => run.kind === RunKind.task && run.task === task);
  if (!target) throw new StateConflictError(`Execution ${execution.id} has no task "${task}".`);
  if (target.status !== "failed") {
    throw new StateConflictError(
      `Task "${task}" of execution ${execution.id} is ${target.status}: only a failed task can be retried.`,
    );
  }
  const bySeq = new Map(runs.map((run) => [run.seq, run]));
  // Runs decided because of the failure: descendants that were skipped or cancelled, and the end.
  const reopened = new Set<number>([target.seq]);
  const queue = [...target.successors];
  while (queue.length > 0) {
    const seq = queue.pop()!;
    const run = bySeq.get(seq)!;
    if (reopened.has(seq)) continue;
    if (run.kind === RunKind.end || run.status === "skipped" || run.status === "cancelled") {
      reopened.add(seq);
      queue.push(...run.successors);
    }
  }
  const predecessors = new Map<number, TaskRunRecord[]>();
  for (const run of runs) {
    for (const seq of run.successors) predecessors.set(seq, [...(predecessors.get(seq) ?? []), run]);
  }
  const ended = (run: TaskRunRecord) => !reopened.has(run.seq) && isTerminalTask(run.status);
  for (const seq of reopened) {
    const run = bySeq.get(seq)!;
    const before = predecessors.get(seq) ?? [];
    const patch =
      seq === target.seq
        ? {
            status: "ready" as const,
            runAfter: t.now,
            maxAttempts: run.attempt + run.maxAttempts,
            // A fresh set of attempts and of interruptions: every attempt so far now counts as a try.
            interruptions: 0,
            error: null,
            finishedAt: null,
          }
        : {
            status: "blocked" as const,
            pending: before.filter((p) => !ended(p)).length,
            failedPredecessors: before.filter((p) => ended(p) && p.status === "failed" && !p.allowFailure)
              .length,
            skippedPredecessors: before.filter(
              (p) => ended(p) && (p.status === "skipped" || p.status === "cancelled"),
            ).length,
            finishedAt: null,
          };
    const updated = await t.tx.updateRun(
      { executionId: run.executionId, seq, status: [run.status], traversal: run.traversal },
      patch,
    );
    if (!updated)
      throw new StateConflictError(`Task "${run.task}" changed while it was being reopened: try again.`);
    if (seq === target.seq) {
      t.markReady(updated, { data: { retriedBy: "operator" } });
    }
  }
  const failures = Math.max(0, execution.failures - 1);
  await t.tx.updateExecution(
    execution.id,
    { status: ["failed", "running"], traversal: execution.traversal },
    {
      status: "running",
      failures,
      error: failures === 0 ? null : execution.error,
      finishedAt: null,
      updatedAt: t.now,
      endStatus: null,
    },
  );
  t.event({ executionId: execution.id, type: EventType.executionRetried, task, status: "running" });
}
