/**
 * The transitions applied inside one store transaction: ending a run and propagating its end
 * through the sync points of its successors, deciding resolved runs, ending executions and
 * starting their undos. Everything here runs between `store.transaction` and its commit, so a
 * process dying half-way leaves nothing half-done.
 */
import type { WorkflowSpec } from "../definition/spec.js";
import type { TaskError } from "../shared/errors.js";
import { runLayout, planUndoRuns, type RunLayout } from "./plan.js";
import { isTerminalTask, type TaskStatus } from "./states.js";
import {
  EventType,
  RunKind,
  type EndStatus,
  type ExecutionError,
  type ExecutionEvent,
  type ExecutionRecord,
  type StoreTx,
  type SyncPointDelta,
  type TaskRunRecord,
} from "./store.js";
import { decideSyncPoint } from "./sync-point.js";

/** Specs and layouts by execution id, parsed once per process: specs never change within a traversal. */
export class SpecCache {
  private readonly entries = new Map<string, { spec: WorkflowSpec; layout: RunLayout }>();

  constructor(private readonly capacity = 1000) {}

  async get(tx: StoreTx, executionId: string): Promise<{ spec: WorkflowSpec; layout: RunLayout }> {
    const hit = this.entries.get(executionId);
    if (hit) return hit;
    const execution = await tx.getExecution(executionId);
    if (!execution) throw new Error(`execution ${executionId} vanished during a transition`);
    return this.remember(execution.id, execution.spec);
  }

  remember(executionId: string, spec: WorkflowSpec): { spec: WorkflowSpec; layout: RunLayout } {
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    const entry = { spec, layout: runLayout(spec) };
    this.entries.set(executionId, entry);
    return entry;
  }
}

/** What one transaction did, collected for the caller and flushed as events at its end. */
export class Transition {
  readonly events: ExecutionEvent[] = [];
  /** Runs that became ready (claimable once their runAfter passed). */
  readonly ready: TaskRunRecord[] = [];
  /** Executions that reached a terminal status. */
  readonly ended = new Set<string>();
  /** Runs claimed for the caller in this transaction. */
  readonly claimed: TaskRunRecord[] = [];
  /**
   * Task failures of this transaction, by execution, written last (see `flushFailures`): the
   * execution row is then always locked after the sync points, never before, so that two
   * transactions cannot each hold a lock the other waits for.
   */
  private readonly failures = new Map<string, { count: number; first: ExecutionError }>();
  /** Runs failed by the reaper in this transaction. */
  reaped = 0;
  /** Reported outcomes that were applied (the others were stale or duplicates). */
  applied = 0;
  readonly appliedOutcomes: boolean[] = [];

  constructor(
    readonly tx: StoreTx,
    readonly now: number,
    readonly specs: SpecCache,
    readonly random: () => number = Math.random,
  ) {}

  recordFailure(executionId: string, error: ExecutionError): void {
    const pending = this.failures.get(executionId);
    if (pending) pending.count += 1;
    else this.failures.set(executionId, { count: 1, first: error });
  }

  /** The execution as it will be once this transaction's failures are written. */
  withFailures(execution: ExecutionRecord): ExecutionRecord {
    const pending = this.failures.get(execution.id);
    if (!pending) return execution;
    return {
      ...execution,
      failures: execution.failures + pending.count,
      error: execution.error ?? pending.first,
    };
  }

  async flushFailures(): Promise<void> {
    for (const [executionId, { count, first }] of this.failures) {
      for (let i = 0; i < count; i++) await this.tx.recordFailure(executionId, first);
    }
    this.failures.clear();
  }

  event(event: Omit<ExecutionEvent, "at">): void {
    (event as ExecutionEvent).at = this.now;
    this.events.push(event as ExecutionEvent);
  }

  runEvent(type: ExecutionEvent["type"], run: TaskRunRecord, extra?: Partial<ExecutionEvent>): void {
    const event: ExecutionEvent = {
      executionId: run.executionId,
      at: this.now,
      type,
      task: run.task,
      kind: run.kind,
      attempt: run.attempt,
      status: run.status,
    };
    this.events.push(extra ? Object.assign(event, extra) : event);
  }
}

const EVENT_OF_END: Partial<Record<TaskStatus, ExecutionEvent["type"]>> = {
  succeeded: EventType.taskSucceeded,
  failed: EventType.taskFailed,
  skipped: EventType.taskSkipped,
  cancelled: EventType.taskCancelled,
};

/**
 * Propagates the end of `finished` (already moved to a terminal status by a compare-and-set)
 * through the sync points of its successors. Runs decided `skipped` propagate in turn, so the
 * cost is the out-degree of each run that ends, never the size of the execution.
 */
export async function propagateEnd(t: Transition, finished: TaskRunRecord): Promise<void> {
  const queue = [finished];
  for (let run = queue.pop(); run; run = queue.pop()) {
    const type = EVENT_OF_END[run.status];
    if (type && run.kind !== RunKind.end && run.kind !== RunKind.undoEnd)
      t.runEvent(type, run, run.error ? { error: run.error } : {});
    if (run.kind === RunKind.task && run.status === "failed" && !run.allowFailure) {
      const error: ExecutionError = {
        type: run.error?.type ?? "Error",
        message: `task "${run.task}" failed: ${run.error?.message ?? "unknown error"}`,
        task: run.task,
      };
      t.recordFailure(run.executionId, error);
    }
    if (run.successors.length === 0) continue;
    const failed = run.status === "failed" && !run.allowFailure ? 1 : 0;
    const skipped = run.status === "skipped" || run.status === "cancelled" ? 1 : 0;
    const deltas: SyncPointDelta[] = run.successors.map((seq) => ({
      executionId: run.executionId,
      seq,
      traversal: run.traversal,
      failed,
      skipped,
    }));
    const resolved = await t.tx.decrementSyncPoints(deltas);
    for (const next of resolved) {
      const decision = decideSyncPoint(next.rule, {
        failed: next.failedPredecessors,
        skipped: next.skippedPredecessors,
      });
      if (decision === "end") {
        await resolveEnd(t, next);
      } else if (decision === "ready") {
        const ready = await t.tx.updateRun(
          { executionId: next.executionId, seq: next.seq, status: ["blocked"], traversal: next.traversal },
          { status: "ready", runAfter: t.now },
        );
        if (ready) {
          t.ready.push(ready);
          t.runEvent(EventType.taskReady, ready);
        }
      } else {
        const skippedRun = await t.tx.updateRun(
          { executionId: next.executionId, seq: next.seq, status: ["blocked"], traversal: next.traversal },
          { status: "skipped", finishedAt: t.now },
        );
        if (skippedRun) queue.push(skippedRun);
      }
    }
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
  if (execution.status !== "running") return;
  if (execution.failures > 0) {
    await markEndRun(t, endRun);
    await compensate(t, execution, "failed", execution.error);
    return;
  }
  const { spec } = await t.specs.get(t.tx, execution.id);
  if (spec.output === undefined) {
    await markEndRun(t, endRun);
    await endExecution(t, execution, "succeeded", null);
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

const EXECUTION_EVENT = {
  succeeded: EventType.executionSucceeded,
  failed: EventType.executionFailed,
  cancelled: EventType.executionCancelled,
} as const;

/** Moves an execution to its terminal status (compare-and-set: only once). */
export async function endExecution(
  t: Transition,
  execution: ExecutionRecord,
  status: "succeeded" | EndStatus,
  output: unknown = execution.output,
): Promise<void> {
  const changed = await t.tx.updateExecution(
    execution.id,
    { status: ["pending", "running", "compensating"], traversal: execution.traversal },
    { status, output, updatedAt: t.now, finishedAt: t.now, endStatus: null },
  );
  if (!changed) return;
  t.ended.add(execution.id);
  t.event({
    executionId: execution.id,
    type: EXECUTION_EVENT[status],
    status,
    ...(execution.error && status !== "succeeded" ? { error: execution.error } : {}),
  });
}

/**
 * Ends an execution that failed, timed out or was cancelled: every run still open is
 * cancelled, then the undos of the succeeded tasks run in reverse dependency order. Without
 * anything to undo, the execution ends at once with `endStatus`.
 */
export async function compensate(
  t: Transition,
  execution: ExecutionRecord,
  endStatus: EndStatus,
  error: ExecutionError | null,
  withUndo = true,
): Promise<void> {
  const runs = await t.tx.listRuns(execution.id);
  const statusBySeq = new Map<number, TaskStatus>();
  for (const run of runs) {
    let status = run.status;
    if (!isTerminalTask(run.status) && run.traversal === execution.traversal) {
      const cancelled = await t.tx.updateRun(
        { executionId: run.executionId, seq: run.seq, status: [run.status], traversal: run.traversal },
        { status: "cancelled", finishedAt: t.now, leaseOwner: null, leaseExpiresAt: null },
      );
      if (cancelled) {
        status = "cancelled";
        if (run.kind === RunKind.task) t.runEvent(EventType.taskCancelled, cancelled);
      }
    }
    statusBySeq.set(run.seq, status);
  }
  const current = { ...execution, error: execution.error ?? error };
  if (error && !execution.error) {
    await t.tx.updateExecution(execution.id, { status: ["pending", "running"] }, { error, updatedAt: t.now });
  }
  const { spec, layout } = await t.specs.get(t.tx, execution.id);
  const hasUndo =
    withUndo &&
    layout.order.some(
      (name, seq) => spec.tasks[name]!.undo !== undefined && statusBySeq.get(seq) === "succeeded",
    );
  if (!hasUndo) {
    await endExecution(t, current, endStatus);
    return;
  }
  const undoRuns = planUndoRuns(
    spec,
    layout,
    (seq) => statusBySeq.get(seq) ?? "blocked",
    execution.id,
    execution.traversal,
    t.now,
  );
  await t.tx.insertRuns(undoRuns);
  await t.tx.updateExecution(
    execution.id,
    { status: ["pending", "running"], traversal: execution.traversal },
    { status: "compensating", endStatus, updatedAt: t.now },
  );
  t.event({
    executionId: execution.id,
    type: EventType.executionCompensating,
    status: "compensating",
    data: { endStatus },
  });
  for (const run of undoRuns) {
    if (run.status === "ready") {
      t.ready.push(run);
      t.runEvent(EventType.taskReady, run);
    }
  }
}

/** The stored error of a run whose attempt ran out of time or lost its lease. */
export function timeoutError(message: string, type = "TimeoutError"): TaskError {
  return { type, message, retryable: true };
}
