/**
 * Propagating the ends of runs through the sync points of their successors, in waves: the runs
 * that ended together decrement all their successors in one store call, the successors brought
 * to zero are decided and changed in one more, and those decided `skipped` form the next wave.
 * A transaction therefore costs two store calls per wave, however many runs end in it; the
 * work stays O(out-degree) per ended run, never O(runs in the execution).
 */
import { EventType, RunKind, type ExecutionError, type ExecutionEvent, type RunChange } from "./store.js";
import type { SyncPointDelta, TaskRunRecord } from "./store.js";
import type { TaskStatus } from "./states.js";
import { endExpanded } from "./for-each.js";
import { decideSyncPoint } from "./sync-point.js";
import { endExecution, type Transition } from "./transitions.js";
import { cleanupEnded, releaseSuperseded, traversalFailed, traversalSucceeded } from "./traversals.js";

const EVENT_OF_END: Partial<Record<TaskStatus, ExecutionEvent["type"]>> = {
  succeeded: EventType.taskSucceeded,
  failed: EventType.taskFailed,
  skipped: EventType.taskSkipped,
  cancelled: EventType.taskCancelled,
};

/**
 * Propagates the ends of `ended` (already moved to a terminal status by a compare-and-set)
 * through their successors' sync points. Runs decided `skipped` propagate in turn (the next
 * wave); internal sync points that resolve end their execution or start its undos.
 */
export async function propagateEnds(t: Transition, ended: readonly TaskRunRecord[]): Promise<void> {
  let wave = ended;
  while (wave.length > 0) {
    const deltas: SyncPointDelta[] = [];
    for (const run of wave) {
      recordEnd(t, run);
      if (run.supersededBy !== null) {
        // Its traversal was replaced while it ran: it drives nothing there, it releases its task's run in the later one.
        const release = await releaseSuperseded(t, run);
        if (release) deltas.push(release);
        continue;
      }
      const failed = run.status === "failed" && !run.allowFailure ? 1 : 0;
      const skipped = run.status === "skipped" || run.status === "cancelled" ? 1 : 0;
      for (const seq of run.successors)
        deltas.push({ executionId: run.executionId, seq, traversal: run.traversal, failed, skipped });
    }
    if (deltas.length === 0) return;
    const resolved = await t.tx.decrementSyncPoints(deltas);
    const changes: RunChange[] = [];
    const ends: TaskRunRecord[] = [];
    const expanded: TaskRunRecord[] = [];
    for (const next of resolved) {
      // A forEach task whose last instance ended (for-each.ts).
      if (next.status === "expanded") {
        expanded.push(next);
        continue;
      }
      const decision = decideSyncPoint(next.rule, {
        failed: next.failedPredecessors,
        skipped: next.skippedPredecessors,
      });
      if (decision === "end") {
        ends.push(next);
        continue;
      }
      changes.push({
        guard: {
          executionId: next.executionId,
          seq: next.seq,
          status: ["blocked"],
          traversal: next.traversal,
        },
        patch:
          decision === "ready"
            ? { status: "ready", runAfter: t.now }
            : { status: "skipped", finishedAt: t.now },
      });
    }
    const decided = changes.length > 0 ? await t.tx.updateRuns(changes) : [];
    const skipped: TaskRunRecord[] = [];
    for (const run of decided) {
      if (run?.status === "ready") t.markReady(run);
      else if (run) skipped.push(run);
    }
    // Ended forEach tasks propagate in the next wave, like skipped runs.
    if (expanded.length > 0) skipped.push(...(await endExpanded(t, expanded)));
    // After the wave's changes: an end resolves only once every run before it ended, so none of
    // its execution's runs waits in a later wave.
    for (const endRun of ends) await resolveEnd(t, endRun);
    wave = skipped;
  }
}

/** The history of a run's end, and a failure counted against its execution. */
function recordEnd(t: Transition, run: TaskRunRecord): void {
  const type = EVENT_OF_END[run.status];
  if (type && run.kind !== RunKind.end && run.kind !== RunKind.undoEnd && run.kind !== RunKind.cleanupEnd)
    // A success keeps the run's last error (an earlier attempt's) in the store, not in its event.
    t.runEvent(type, run, run.error && run.status !== "succeeded" ? { error: run.error } : undefined);
  // A superseded run's failure is not the current traversal's (its task runs again there).
  if (
    run.kind === RunKind.task &&
    run.status === "failed" &&
    !run.allowFailure &&
    run.supersededBy === null
  ) {
    const error: ExecutionError = {
      type: run.error?.type ?? "Error",
      message: `task "${run.task}" failed: ${run.error?.message ?? "unknown error"}`,
      task: run.task,
    };
    t.recordFailure(run.executionId, error);
  }
}

/** An internal sync point resolved: the execution's tasks all ended, or its undos all did. */
async function resolveEnd(t: Transition, endRun: TaskRunRecord): Promise<void> {
  const stored = await t.tx.getExecution(endRun.executionId);
  if (!stored || stored.traversal !== endRun.traversal) return;
  const execution = t.withFailures(stored);
  if (endRun.kind === RunKind.undoEnd) {
    await markEndRun(t, endRun);
    await endExecution(t, execution, execution.endStatus ?? "failed");
    return;
  }
  if (endRun.kind === RunKind.cleanupEnd) {
    await markEndRun(t, endRun);
    await cleanupEnded(t, execution);
    return;
  }
  if (execution.status !== "running") return;
  if (execution.failures > 0) {
    await markEndRun(t, endRun);
    await traversalFailed(t, execution, execution.error);
    return;
  }
  const { spec } = await t.specs.get(t.tx, execution.id, execution.traversal);
  if (spec.output === undefined) {
    await markEndRun(t, endRun);
    await traversalSucceeded(t, execution, null);
    return;
  }
  // The output template needs expression evaluation, which is a worker's job: the end run
  // becomes ready like any task, so a worker dying here loses nothing.
  const ready = await t.tx.updateRun(
    { executionId: endRun.executionId, seq: endRun.seq, status: ["blocked"], traversal: endRun.traversal },
    { status: "ready", runAfter: t.now },
  );
  if (ready) t.ready.push(ready);
}

async function markEndRun(t: Transition, endRun: TaskRunRecord): Promise<void> {
  await t.tx.updateRun(
    {
      executionId: endRun.executionId,
      seq: endRun.seq,
      status: ["blocked", "ready", "running"],
      traversal: endRun.traversal,
    },
    { status: "succeeded", finishedAt: t.now },
  );
}
