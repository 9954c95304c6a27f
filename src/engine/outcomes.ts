/**
 * Ending attempts in batches: what workers report (`applyOutcomes`) and what the watchdog
 * decides (`failRuns`). Each batch is decided whole and applied in phases, each one store call
 * however large the batch: read the runs whose failure needs their record, decide every
 * attempt (succeeded, skipped, retrying or failed), apply every compare-and-set, then propagate
 * the ends (propagate.ts). On PostgreSQL every call is a round trip, so a worker's batch costs
 * a few of them, not one or two per task.
 */
import type { TaskError } from "../shared/errors.js";
import type { Outcome, RunRef } from "./engine.js";
import { expandRuns, specTaskOf } from "./for-each.js";
import { propagateEnds } from "./propagate.js";
import { retryDelay } from "./retry.js";
import { DEFAULT_RETRY } from "../definition/spec.js";
import {
  EventType,
  RunKind,
  type ExecutionEvent,
  type RunChange,
  type RunGuard,
  type RunPatch,
  type TaskRunRecord,
} from "./store.js";
import type { Transition } from "./transitions.js";
import { traversalFailed, traversalSucceeded } from "./traversals.js";

/** A compare-and-set that ends an attempt, decided before it is applied. */
interface Ending extends RunChange {
  /** The attempt fails: its error (a failed end run fails the execution with it). */
  error?: TaskError;
  /** The attempt runs again after this time instead of failing. */
  retryAfter?: number;
  /** Recorded about the run as it was found, before what the ending records (see RunFailure). */
  cause?: { run: TaskRunRecord; event: RunFailure["event"] };
}

/** What the watchdog fails: the run as it found it, why, and what must still hold. */
export interface RunFailure {
  run: TaskRunRecord;
  error: TaskError;
  /** Reaping: the lease or the deadline must still have passed (a renewal in between wins). */
  reapGuard: Pick<RunGuard, "leaseExpiresBefore" | "deadlineBefore">;
  /**
   * The attempt did not fail, its worker was lost (lease expired, process dead): it does not
   * count against `retry.attempts`, only against `retry.interruptions`.
   */
  interrupted?: boolean;
  /** The history's record of why (lease:expired), written before the retry or the failure it causes. */
  event?: { type: ExecutionEvent["type"]; worker?: string };
}

/** Orders runs by (execution, seq): rows are then changed in one order by every batch. */
export function compareRuns(a: RunRef, b: RunRef): number {
  return a.executionId < b.executionId ? -1 : a.executionId > b.executionId ? 1 : a.seq - b.seq;
}

/**
 * Applies a worker's reported outcomes; answers, in their order, whether each was applied
 * (false: stale, or a duplicate, such as a second report of one attempt in the same batch).
 */
export async function applyOutcomes(t: Transition, outcomes: readonly Outcome[]): Promise<boolean[]> {
  const order = outcomes.map((_, i) => i).sort((a, b) => compareRuns(outcomes[a]!.run, outcomes[b]!.run));
  // Only a failure needs the run's record (its attempts and retry policy): one read for all.
  const failed = order.filter(
    (i) => outcomes[i]!.status === "failed" || outcomes[i]!.status === "interrupted",
  );
  const records = failed.length > 0 ? await t.tx.getRunsByKey(failed.map((i) => outcomes[i]!.run)) : [];
  const recordOf = new Map(failed.map((i, k) => [i, records[k]]));
  const endings: (Ending | null)[] = [];
  const expansions: { index: number; run: RunRef; items: unknown[] }[] = [];
  for (const i of order) {
    const outcome = outcomes[i]!;
    const { run } = outcome;
    if (outcome.status === "expanded" && outcome.items.length > 0) {
      expansions.push({ index: endings.length, run, items: outcome.items });
      endings.push(null);
      continue;
    }
    if (outcome.status === "failed" || outcome.status === "interrupted") {
      const current = recordOf.get(i);
      endings.push(
        current
          ? await failureEnding(
              t,
              { ...current, attempt: run.attempt, traversal: run.traversal },
              outcome.error,
              {},
              outcome.status === "interrupted",
            )
          : null,
      );
      continue;
    }
    const patch: RunPatch = {
      // An empty forEach list ends the task at once, with an empty list of outputs.
      status: outcome.status === "expanded" ? "succeeded" : outcome.status,
      output: outcome.status === "succeeded" ? outcome.output : outcome.status === "expanded" ? [] : null,
      finishedAt: t.now,
      leaseOwner: null,
      leaseExpiresAt: null,
    };
    if (outcome.status === "succeeded") {
      // A delegate's key was stored when it started waiting; its callback knows none.
      if (outcome.versionKey !== undefined) patch.versionKey = outcome.versionKey;
      if (outcome.reusedFrom !== undefined) patch.reusedFrom = outcome.reusedFrom;
    }
    endings.push({ guard: { ...attemptGuard(run), status: ["running", "waiting"] }, patch });
  }
  const ended = await applyEndings(t, endings);
  const expanded = expansions.length > 0 ? await expandRuns(t, expansions) : undefined;
  if (expanded && expanded.superseded.length > 0) await propagateEnds(t, expanded.superseded);
  const applied = new Array<boolean>(outcomes.length).fill(false);
  order.forEach((i, k) => (applied[i] = ended[k] !== null));
  expansions.forEach(({ index }, k) => (applied[order[index]!] = expanded!.applied[k]!));
  return applied;
}

/**
 * Ends attempts the watchdog gave up on (an expired lease or deadline, a dead process):
 * retrying while attempts (or, for an interruption, interruptions) remain and the error is
 * retryable, else failed. Answers, in order, the runs as they were found for the failures
 * applied, null for the others.
 */
export async function failRuns(
  t: Transition,
  failures: readonly RunFailure[],
): Promise<(TaskRunRecord | null)[]> {
  const order = failures.map((_, i) => i).sort((a, b) => compareRuns(failures[a]!.run, failures[b]!.run));
  const endings: Ending[] = [];
  for (const i of order) {
    const { run, error, reapGuard, interrupted, event } = failures[i]!;
    const ending = await failureEnding(t, run, error, reapGuard, interrupted ?? false);
    endings.push(event ? { ...ending, cause: { run, event } } : ending);
  }
  const ended = await applyEndings(t, endings);
  const answers = new Array<TaskRunRecord | null>(failures.length).fill(null);
  order.forEach((i, k) => (answers[i] = ended[k] ? failures[i]!.run : null));
  return answers;
}

/** What a compare-and-set on one attempt of a run must still find, but its status. */
export function attemptGuard(run: RunRef): Omit<RunGuard, "status"> {
  return { executionId: run.executionId, seq: run.seq, attempt: run.attempt, traversal: run.traversal };
}

/**
 * The retry policy. A failed attempt runs again while attempts remain and `error` is
 * retryable; an interrupted one (its worker was lost) runs again at once while interruptions
 * remain, and does not count as a try: attempts counted against `maxAttempts` are those that
 * were not interrupted.
 */
async function failureEnding(
  t: Transition,
  run: TaskRunRecord,
  error: TaskError,
  reapGuard: RunFailure["reapGuard"],
  interrupted: boolean,
): Promise<Ending> {
  const guard: RunGuard = { ...attemptGuard(run), status: ["running", "waiting"], ...reapGuard };
  // Its traversal was replaced: the task runs again in the current one, not here.
  if (run.supersededBy !== null) return failedEnding(t, guard, error);
  const tries = run.attempt - run.interruptions;
  if (interrupted) {
    const { spec } = await t.specs.get(t.tx, run.executionId, run.traversal);
    // Specs stored before retry.interruptions existed lack it: they get the default.
    const bound = spec.tasks[specTaskOf(run.task)]?.retry.interruptions ?? DEFAULT_RETRY.interruptions;
    const interruptions = run.interruptions + 1;
    if (interruptions <= bound) return retrying(t, guard, error, t.now, { interruptions });
    const lost: TaskError = {
      type: error.type,
      message: `its worker was lost ${interruptions} times, more than retry.interruptions (${bound}) allows; the last time: ${error.message}`,
      retryable: false,
    };
    return failedEnding(t, guard, lost, { interruptions });
  }
  if (error.retryable && tries < run.maxAttempts && run.kind !== RunKind.end) {
    const { spec } = await t.specs.get(t.tx, run.executionId, run.traversal);
    const policy = spec.tasks[specTaskOf(run.task)]?.retry;
    return retrying(t, guard, error, t.now + (policy ? retryDelay(policy, tries, t.random) : 0));
  }
  return failedEnding(t, guard, error);
}

function retrying(
  t: Transition,
  guard: RunGuard,
  error: TaskError,
  retryAfter: number,
  extra: RunPatch = {},
): Ending {
  const patch: RunPatch = {
    status: "retrying",
    error,
    runAfter: retryAfter,
    leaseOwner: null,
    leaseExpiresAt: null,
    tokenHash: null,
    deadline: null,
    ...extra,
  };
  return { guard, patch, error, retryAfter };
}

function failedEnding(t: Transition, guard: RunGuard, error: TaskError, extra: RunPatch = {}): Ending {
  const patch: RunPatch = {
    status: "failed",
    error,
    finishedAt: t.now,
    leaseOwner: null,
    leaseExpiresAt: null,
    ...extra,
  };
  return { guard, patch, error };
}

/**
 * Applies decided endings in one store call (null: nothing to apply), then what follows from
 * each that held: a retry's event, the propagation of the ends (all together), and the end of
 * the execution for its end run. Answers the changed runs, null where a guard did not hold.
 */
async function applyEndings(
  t: Transition,
  endings: readonly (Ending | null)[],
): Promise<(TaskRunRecord | null)[]> {
  const indexes: number[] = [];
  const changes: RunChange[] = [];
  endings.forEach((ending, i) => {
    if (!ending) return;
    indexes.push(i);
    changes.push({ guard: ending.guard, patch: ending.patch });
  });
  const answers = new Array<TaskRunRecord | null>(endings.length).fill(null);
  if (changes.length === 0) return answers;
  const changed = await t.tx.updateRuns(changes);
  const ended: TaskRunRecord[] = [];
  const endRuns: [TaskRunRecord, Ending][] = [];
  const undone: TaskRunRecord[] = [];
  changed.forEach((run, k) => {
    const i = indexes[k]!;
    const ending = endings[i]!;
    answers[i] = run;
    if (!run) return;
    if (run.kind === RunKind.undo && run.status === "succeeded" && run.target !== null) undone.push(run);
    if (run.reusedFrom !== null && run.status === "succeeded")
      t.runEvent(EventType.taskReused, run, { data: { version: run.reusedFrom } });
    if (ending.cause?.event) {
      const { type, ...extra } = ending.cause.event;
      t.runEvent(type, ending.cause.run, extra);
    }
    if (ending.retryAfter !== undefined) {
      t.runEvent(EventType.taskRetrying, run, { error: ending.error, data: { runAfter: ending.retryAfter } });
    } else if (run.kind === RunKind.end) endRuns.push([run, ending]);
    else ended.push(run);
  });
  if (undone.length > 0) await markUndone(t, undone);
  await propagateEnds(t, ended);
  for (const [run, ending] of endRuns) await endRunEnded(t, run, ending.error);
  return answers;
}

/** The versions these undos undid are no longer live: never reused, never cleaned up again. */
async function markUndone(t: Transition, undos: readonly TaskRunRecord[]): Promise<void> {
  const versions = await t.tx.getRunsByKey(
    undos.map((undo) => ({ executionId: undo.executionId, seq: undo.target! })),
  );
  const changes: RunChange[] = [];
  for (const version of versions) {
    if (!version || version.status !== "succeeded" || version.undoneAt !== null) continue;
    changes.push({
      guard: {
        executionId: version.executionId,
        seq: version.seq,
        status: ["succeeded"],
        traversal: version.traversal,
      },
      patch: { undoneAt: t.now },
    });
  }
  if (changes.length > 0) await t.tx.updateRuns(changes);
}

/**
 * The end run of an execution (its output template) was evaluated: the execution succeeds
 * with the output, or fails (its undos run) when the template could not be evaluated.
 */
async function endRunEnded(
  t: Transition,
  endRun: TaskRunRecord,
  error: TaskError | undefined,
): Promise<void> {
  const execution = await t.tx.getExecution(endRun.executionId);
  // An end run of a traversal that was replaced while it ran ends nothing.
  if (!execution || execution.traversal !== endRun.traversal) return;
  if (endRun.status !== "failed" || !error) {
    await traversalSucceeded(t, execution, endRun.output);
    return;
  }
  const failure = {
    type: error.type,
    message: `the workflow output could not be computed: ${error.message}`,
  };
  t.recordFailure(execution.id, failure);
  await traversalFailed(t, t.withFailures(execution), failure);
}
