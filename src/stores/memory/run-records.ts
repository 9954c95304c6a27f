import type { RunGuard, SyncPointDelta, TaskRunRecord } from "../../engine/store.js";

/**
 * A copy of a run record, field by field: every record then shares one hidden class, which
 * keeps property access fast where an execution holds 100,000 of them (spreading records whose
 * shapes differ made V8 fall back to slow dictionary objects).
 */
export function copyRun(run: TaskRunRecord): TaskRunRecord {
  return {
    executionId: run.executionId,
    seq: run.seq,
    task: run.task,
    kind: run.kind,
    status: run.status,
    traversal: run.traversal,
    attempt: run.attempt,
    maxAttempts: run.maxAttempts,
    interruptions: run.interruptions,
    pending: run.pending,
    failedPredecessors: run.failedPredecessors,
    skippedPredecessors: run.skippedPredecessors,
    rule: run.rule,
    allowFailure: run.allowFailure,
    successors: run.successors,
    timeout: run.timeout,
    runAfter: run.runAfter,
    leaseOwner: run.leaseOwner,
    leaseExpiresAt: run.leaseExpiresAt,
    deadline: run.deadline,
    tokenHash: run.tokenHash,
    code: run.code,
    versionKey: run.versionKey,
    reusedFrom: run.reusedFrom,
    target: run.target,
    undoneAt: run.undoneAt,
    supersededBy: run.supersededBy,
    item: run.item,
    output: run.output,
    error: run.error,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
  };
}

/** The compare-and-set condition of `updateRun`, for adapters that check it in JavaScript. */
export function matches(run: TaskRunRecord, guard: RunGuard): boolean {
  if (!guard.status.includes(run.status) || run.traversal !== guard.traversal) return false;
  if (guard.attempt !== undefined && run.attempt !== guard.attempt) return false;
  if (
    guard.leaseExpiresBefore !== undefined &&
    !(run.leaseExpiresAt !== null && run.leaseExpiresAt < guard.leaseExpiresBefore)
  )
    return false;
  if (guard.deadlineBefore !== undefined && !(run.deadline !== null && run.deadline < guard.deadlineBefore))
    return false;
  return true;
}

/** The deltas of one `decrementSyncPoints` call naming one run, applied as one (see the port). */
export interface SummedDelta extends SyncPointDelta {
  /** How many deltas named the run: `pending` drops by this much. */
  count: number;
}

/**
 * The deltas of one call summed per run, in the order of each run's first delta: a run that
 * follows several runs ending together is changed, and answered, once.
 *
 * @example
 * sumDeltas([d, { ...d, failed: 1 }]) // [{ ...d, count: 2, failed: 1 }]
 */
export function sumDeltas(deltas: readonly SyncPointDelta[]): SummedDelta[] {
  const byRun = new Map<string, SummedDelta>();
  for (const delta of deltas) {
    const key = `${delta.seq}\u0000${delta.traversal}\u0000${delta.executionId}`;
    const summed = byRun.get(key);
    if (summed) {
      summed.count += 1;
      summed.failed += delta.failed;
      summed.skipped += delta.skipped;
    } else
      byRun.set(key, {
        executionId: delta.executionId,
        seq: delta.seq,
        traversal: delta.traversal,
        failed: delta.failed,
        skipped: delta.skipped,
        count: 1,
      });
  }
  return [...byRun.values()];
}
