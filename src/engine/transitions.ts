/**
 * What one store transaction of the engine collects (Transition), and the transitions of whole
 * executions: ending them, and cancelling their open runs and starting their undos. Ending runs
 * and propagating their ends is in outcomes.ts and propagate.ts. Everything here runs between
 * `store.transaction` and its commit, so a process dying half-way leaves nothing half-done.
 */
import type { WorkflowSpec } from "../definition/spec.js";
import type { TaskError } from "../shared/errors.js";
import { runLayout, planUndoRuns, undoNeeded, type RunLayout } from "./plan.js";
import { isTerminalTask, type TaskStatus } from "./states.js";
import {
  EventType,
  RunKind,
  type EndStatus,
  type ExecutionError,
  type ExecutionEvent,
  type ExecutionRecord,
  type RunChange,
  type StoreTx,
  type TaskRunRecord,
} from "./store.js";

function runKey(run: TaskRunRecord): string {
  return `${run.seq}\u0000${run.executionId}`;
}

/** The definition one traversal of an execution converges on, and where its runs sit. */
export interface TraversalSpec {
  spec: WorkflowSpec;
  layout: RunLayout;
}

/**
 * Specs and layouts by execution and traversal, parsed once per process: a traversal's spec
 * never changes (an update starts another traversal). A miss reads the execution (its current
 * traversal) or, for an earlier traversal, the execution's traversal rows.
 */
export class SpecCache {
  private readonly entries = new Map<string, TraversalSpec>();

  constructor(private readonly capacity = 1000) {}

  async get(tx: StoreTx, executionId: string, traversal: string): Promise<TraversalSpec> {
    const hit = this.entries.get(cacheKey(executionId, traversal));
    if (hit) return hit;
    const execution = await tx.getExecution(executionId);
    if (!execution) throw new Error(`execution ${executionId} vanished during a transition`);
    if (execution.traversal === traversal)
      return this.remember(executionId, traversal, execution.spec, execution.base);
    const earlier = (await tx.listTraversals(executionId)).find((row) => row.id === traversal);
    if (!earlier) throw new Error(`traversal ${traversal} of execution ${executionId} is unknown`);
    return this.remember(executionId, traversal, earlier.spec, earlier.base);
  }

  remember(executionId: string, traversal: string, spec: WorkflowSpec, base = 0): TraversalSpec {
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    const entry = { spec, layout: runLayout(spec, base) };
    this.entries.set(cacheKey(executionId, traversal), entry);
    return entry;
  }
}

function cacheKey(executionId: string, traversal: string): string {
  return `${executionId}\u0000${traversal}`;
}

/** A sub-workflow's execution that ended in a transaction: its parent's run is settled before the commit. */
export interface EndedChild {
  execution: ExecutionRecord;
  status: "succeeded" | "undone" | EndStatus;
  output: unknown;
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
  /** Sub-workflows that ended here, for subflows.ts to settle their parents' runs. */
  readonly endedChildren: EndedChild[] = [];
  /** A cancel that asked for undo: the sub-workflows it abandons run their undos too. */
  undoAbandoned = false;
  /**
   * Task failures of this transaction, by execution, written last (see `flushFailures`): the
   * execution row is then always locked after the sync points, never before, so that two
   * transactions cannot each hold a lock the other waits for.
   */
  private readonly failures = new Map<string, { count: number; first: ExecutionError }>();
  /** The task:ready event of each run made ready here (see `claimedHere`). */
  private readonly readyEvents = new Map<string, ExecutionEvent>();
  private readonly eventRuns = new WeakMap<ExecutionEvent, TaskRunRecord>();
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

  /**
   * Forgets the failures counted against an execution in this transaction: a new traversal
   * started after them (a failed update rolling back), and they were its predecessor's.
   */
  discardFailures(executionId: string): void {
    this.failures.delete(executionId);
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
      await this.tx.recordFailure(executionId, first, count);
    }
    this.failures.clear();
  }

  /** A run became ready: the caller hears of it, and the history does (see `claimedHere`). */
  markReady(run: TaskRunRecord, extra?: Partial<ExecutionEvent>): void {
    this.ready.push(run);
    this.readyEvents.set(runKey(run), this.runEvent(EventType.taskReady, run, extra));
  }

  /**
   * Runs this transaction claimed. Those it also made ready lose their task:ready event: the
   * task:started written in the same commit says as much, and a short task then costs one
   * event row less.
   */
  claimedHere(runs: readonly TaskRunRecord[]): void {
    this.claimed.push(...runs);
    if (this.readyEvents.size === 0) return;
    const dropped = new Set<ExecutionEvent>();
    for (const run of runs) {
      const event = this.readyEvents.get(runKey(run));
      if (event) dropped.add(event);
    }
    if (dropped.size === 0) return;
    const kept = this.events.filter((event) => !dropped.has(event));
    this.events.length = 0;
    this.events.push(...kept);
  }

  event(event: Omit<ExecutionEvent, "at">): void {
    (event as ExecutionEvent).at = this.now;
    this.events.push(event as ExecutionEvent);
  }

  /** The run an event of this transaction is about (events themselves name only its task). */
  runOfEvent(event: ExecutionEvent): TaskRunRecord | undefined {
    return this.eventRuns.get(event);
  }

  /** Records an event about `run`; answers it. */
  runEvent(
    type: ExecutionEvent["type"],
    run: TaskRunRecord,
    extra?: Partial<ExecutionEvent>,
  ): ExecutionEvent {
    const event: ExecutionEvent = {
      executionId: run.executionId,
      at: this.now,
      type,
      task: run.task,
      kind: run.kind,
      attempt: run.attempt,
      status: run.status,
    };
    if (extra) Object.assign(event, extra);
    this.events.push(event);
    this.eventRuns.set(event, run);
    return event;
  }
}

const EXECUTION_EVENT = {
  succeeded: EventType.executionSucceeded,
  failed: EventType.executionFailed,
  cancelled: EventType.executionCancelled,
  undone: EventType.executionUndone,
} as const;

/** Moves an execution to its terminal status (compare-and-set: only once). */
export async function endExecution(
  t: Transition,
  execution: ExecutionRecord,
  status: "succeeded" | "undone" | EndStatus,
  output: unknown = execution.output,
): Promise<void> {
  const changed = await t.tx.updateExecution(
    execution.id,
    { status: ["pending", "running", "compensating"], traversal: execution.traversal },
    { status, output, updatedAt: t.now, finishedAt: t.now, endStatus: null },
  );
  if (!changed) return;
  // An updated execution has a row per traversal (see traversals.ts); the first one gets its row then.
  if (execution.base > 0)
    await t.tx.updateTraversal(execution.id, execution.traversal, { status, finishedAt: t.now });
  t.ended.add(execution.id);
  if (execution.parent) t.endedChildren.push({ execution, status, output });
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
  const statusBySeq = new Map<number, TaskStatus>(runs.map((run) => [run.seq, run.status]));
  // Every open run of the traversal is cancelled, all in one batch.
  const open = runs.filter((run) => !isTerminalTask(run.status) && run.traversal === execution.traversal);
  const changes: RunChange[] = open.map((run) => ({
    guard: { executionId: run.executionId, seq: run.seq, status: [run.status], traversal: run.traversal },
    patch: { status: "cancelled", finishedAt: t.now, leaseOwner: null, leaseExpiresAt: null },
  }));
  const cancelled = changes.length > 0 ? await t.tx.updateRuns(changes) : [];
  cancelled.forEach((run) => {
    if (!run) return;
    statusBySeq.set(run.seq, "cancelled");
    if (run.kind === RunKind.task) t.runEvent(EventType.taskCancelled, run);
  });
  const current = { ...execution, error: execution.error ?? error };
  if (error && !execution.error) {
    await t.tx.updateExecution(execution.id, { status: ["pending", "running"] }, { error, updatedAt: t.now });
  }
  const { spec, layout } = await t.specs.get(t.tx, execution.id, execution.traversal);
  const hasUndo =
    withUndo &&
    layout.order.some((name, i) =>
      undoNeeded(spec.tasks[name]!, statusBySeq.get(layout.base + i) ?? "blocked"),
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
  for (const run of undoRuns) if (run.status === "ready") t.markReady(run);
}

/** The stored error of a run whose attempt ran out of time or lost its lease. */
export function timeoutError(message: string, type = "TimeoutError"): TaskError {
  return { type, message, retryable: true };
}
