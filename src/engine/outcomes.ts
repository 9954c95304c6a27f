/**
 * Applying what a worker reports: a compare-and-set on the run, then the retry policy or the
 * propagation of its end. Shared by completions, callbacks and the reaper.
 */
import type { TaskError } from "../shared/errors.js";
import type { Outcome } from "./engine.js";
import { retryDelay } from "./retry.js";
import { EventType, RunKind, type TaskRunRecord } from "./store.js";
import { compensate, endExecution, propagateEnd, type Transition } from "./transitions.js";

/** Applies one reported outcome; false when it was stale or a duplicate. */
export async function applyOutcome(t: Transition, outcome: Outcome): Promise<boolean> {
  const { run } = outcome;
  const guard = {
    executionId: run.executionId,
    seq: run.seq,
    status: ["running", "waiting"] as const,
    attempt: run.attempt,
    traversal: run.traversal,
  };
  if (outcome.status === "failed") {
    const current = await t.tx.getRun(run.executionId, run.seq);
    return current
      ? failRun(t, { ...current, attempt: run.attempt, traversal: run.traversal }, outcome.error, {})
      : false;
  }
  const ended = await t.tx.updateRun(guard, {
    status: outcome.status,
    output: outcome.status === "succeeded" ? outcome.output : null,
    finishedAt: t.now,
    leaseOwner: null,
    leaseExpiresAt: null,
  });
  if (!ended) return false;
  if (ended.kind === RunKind.end) {
    const execution = await t.tx.getExecution(ended.executionId);
    if (execution) await endExecution(t, execution, "succeeded", ended.output);
    return true;
  }
  await propagateEnd(t, ended);
  return true;
}

/** Fails one attempt: retrying while attempts remain and the error is retryable, else failed. */
export async function failRun(
  t: Transition,
  run: TaskRunRecord,
  error: TaskError,
  reapGuard: { leaseExpiresBefore?: number; deadlineBefore?: number },
): Promise<boolean> {
  const guard = {
    executionId: run.executionId,
    seq: run.seq,
    status: ["running", "waiting"] as const,
    attempt: run.attempt,
    traversal: run.traversal,
    ...reapGuard,
  };
  if (error.retryable && run.attempt < run.maxAttempts && run.kind !== RunKind.end) {
    const { spec } = await t.specs.get(t.tx, run.executionId);
    const policy = spec.tasks[run.task]?.retry;
    const delay = policy ? retryDelay(policy, run.attempt, t.random) : 0;
    const retrying = await t.tx.updateRun(guard, {
      status: "retrying",
      error,
      runAfter: t.now + delay,
      leaseOwner: null,
      leaseExpiresAt: null,
      tokenHash: null,
      deadline: null,
    });
    if (retrying) t.runEvent(EventType.taskRetrying, retrying, { error, data: { runAfter: t.now + delay } });
    return retrying !== null;
  }
  const failed = await t.tx.updateRun(guard, {
    status: "failed",
    error,
    finishedAt: t.now,
    leaseOwner: null,
    leaseExpiresAt: null,
  });
  if (!failed) return false;
  if (failed.kind === RunKind.end) {
    const execution = await t.tx.getExecution(failed.executionId);
    if (execution) {
      const failure = {
        type: error.type,
        message: `the workflow output could not be computed: ${error.message}`,
      };
      t.recordFailure(execution.id, failure);
      await compensate(t, t.withFailures(execution), "failed", failure);
    }
    return true;
  }
  await propagateEnd(t, failed);
  return true;
}
