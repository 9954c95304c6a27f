/**
 * Living executions (the Heat seed's convergence). An update, a rollback or an undo starts a
 * new **traversal** of an execution by compare-and-set on its current one; the traversal's
 * runs take fresh seqs from `base`, and everything the engine does is a transition of the
 * store like any other, so any process may die at any point and another carries on.
 *
 * - Each task run whose body succeeded is a **version** (its output, its traversal's spec and
 *   the inputs it read, hashed into `versionKey`). A task of a new traversal whose key equals a
 *   live version's reuses it (the worker checks before running the body, see task-runner.ts).
 * - Work in flight under an old traversal is not cancelled: its run is marked `supersededBy` the
 *   new traversal, and the same task's run there waits for it (one more in its sync point).
 *   Whatever way that run ends (success, failure, timeout, lost lease...) goes through
 *   `propagateEnds`, which releases the waiting run instead of driving the old traversal: one
 *   place for every exit path (Heat shipped three bugs where one path forgot this).
 * - Create before delete: when the new traversal's tasks all ended well, the undos of the live
 *   versions it does not use run, each after the undos of the versions that depended on it
 *   (`planCleanup`); then the execution ends (`undone` for an undo traversal).
 */
import type { WorkflowSpec } from "../definition/spec.js";
import { ExecutionNotFoundError } from "../shared/errors.js";
import { newId } from "../shared/ids.js";
import { TraversalConflictError } from "./errors.js";
import { resolveInputs } from "./inputs.js";
import { planRuns, runLayout } from "./plan.js";
import { ExecutionStatus, isTerminalExecution, isTerminalTask } from "./states.js";
import {
  EventType,
  Origin,
  RunKind,
  TraversalCause,
  type ExecutionError,
  type ExecutionPatch,
  type ExecutionRecord,
  type RunChange,
  type Store,
  type TaskRunRecord,
  type TraversalRecord,
} from "./store.js";
import { compensate, endExecution, type Transition } from "./transitions.js";

/** The definition and input one traversal of an execution works with, read outside a transaction. */
export async function readTraversal(
  store: Store,
  executionId: string,
  traversal: string,
): Promise<{ execution: ExecutionRecord; spec: WorkflowSpec; input: Record<string, unknown>; base: number }> {
  const execution = await store.getExecution(executionId);
  if (!execution) throw new ExecutionNotFoundError(executionId);
  if (execution.traversal === traversal)
    return { execution, spec: execution.spec, input: execution.input, base: execution.base };
  const row = (await store.listTraversals(executionId)).find((candidate) => candidate.id === traversal);
  if (!row) throw new Error(`traversal ${traversal} of execution ${executionId} is unknown`);
  return { execution, spec: row.spec, input: row.input, base: row.base };
}

/** What a new traversal converges on. */
export interface TraversalRequest {
  cause: Exclude<TraversalCause, "start">;
  /** The definition; null converges on nothing (undo). */
  spec: WorkflowSpec | null;
  /** A new input; default: the execution's, as far as the definition declares it. */
  input?: Record<string, unknown>;
  /** The traversal the caller saw: refused with TraversalConflictError when another one started since. */
  expectTraversal?: string;
  rollbackOnFailure?: boolean;
  /** The new traversal's id (default: a new one), so a caller retrying a lost COMMIT can tell it landed. */
  id?: string;
  /** Where the new definition came from: over HTTP, workers re-check its actions from now on. */
  origin?: Origin;
}

const EVERY_STATUS = Object.values(ExecutionStatus);

/** The definition of an undo traversal: the workflow with no task. */
function nothingOf(execution: ExecutionRecord): WorkflowSpec {
  return { ...execution.spec, tasks: {}, output: undefined, timeout: undefined };
}

/**
 * Starts a traversal on `execution` (read in this transaction) and answers the execution as it
 * now is. Runs of earlier traversals that wait (blocked, ready, retrying, a waiting delegate)
 * are cancelled; running ones finish and are recorded (see the file's comment).
 */
export async function startTraversal(
  t: Transition,
  execution: ExecutionRecord,
  request: TraversalRequest,
): Promise<ExecutionRecord> {
  const now = t.now;
  const spec = request.spec ?? nothingOf(execution);
  const input =
    request.spec === null
      ? execution.input
      : resolveInputs(spec, request.input ?? keptInput(spec, execution.input));
  const traversal = request.id ?? newId();
  const base = await t.tx.allocateSeqs(execution.id, runLayout(spec).size);
  const patch = {
    traversal,
    spec,
    input,
    base,
    version: spec.version ?? null,
    status: "running",
    output: null,
    error: null,
    failures: 0,
    endStatus: null,
    deadline: spec.timeout !== undefined ? now + spec.timeout : null,
    updatedAt: now,
    finishedAt: null,
    // Once a client over HTTP changed the definition, none of it is trusted as direct any more.
    ...(request.origin === Origin.http ? { origin: Origin.http } : {}),
  } satisfies ExecutionPatch;
  const changed = await t.tx.updateExecution(
    execution.id,
    { status: EVERY_STATUS, traversal: request.expectTraversal ?? execution.traversal },
    patch,
  );
  if (!changed) throw new TraversalConflictError(execution.id);
  t.discardFailures(execution.id);
  const rows = await t.tx.listTraversals(execution.id);
  const endedAs = isTerminalExecution(execution.status) ? execution.status : "superseded";
  if (!rows.some((row) => row.id === execution.traversal)) {
    await t.tx.insertTraversal({
      executionId: execution.id,
      id: execution.traversal,
      number: rows.length + 1,
      cause: TraversalCause.start,
      spec: execution.spec,
      input: execution.input,
      base: execution.base,
      status: endedAs,
      rollbackOnFailure: false,
      createdAt: execution.createdAt,
      finishedAt: execution.finishedAt ?? now,
    });
  } else if (endedAs === "superseded") {
    await t.tx.updateTraversal(execution.id, execution.traversal, { status: endedAs, finishedAt: now });
  }
  const number = Math.max(rows.length, 1) + 1;
  await t.tx.insertTraversal({
    executionId: execution.id,
    id: traversal,
    number,
    cause: request.cause,
    spec,
    input,
    base,
    status: "running",
    rollbackOnFailure: request.rollbackOnFailure ?? false,
    createdAt: now,
    finishedAt: null,
  });
  const inFlight = await supersede(t, execution.id, traversal);
  const layout = t.specs.remember(execution.id, traversal, spec, base).layout;
  const runs = planRuns(spec, layout, execution.id, traversal, now, execution.code);
  for (const run of runs) {
    const waitsFor = run.kind === RunKind.task ? (inFlight.get(run.task) ?? 0) : 0;
    if (waitsFor === 0) continue;
    run.pending += waitsFor;
    run.status = "blocked";
  }
  await t.tx.insertRuns(runs);
  t.event({
    executionId: execution.id,
    type: EventType.traversalStarted,
    status: "running",
    data: { traversal, number, cause: request.cause, version: spec.version ?? null, base },
  });
  for (const run of runs) if (run.status === "ready") t.markReady(run);
  const current: ExecutionRecord = { ...execution, ...patch };
  if (layout.order.length === 0) await traversalSucceeded(t, current, null);
  return current;
}

/** The execution's input, as far as `spec` still declares it (an update keeps what still applies). */
function keptInput(spec: WorkflowSpec, input: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([name]) => name in spec.inputs));
}

/**
 * Cancels the waiting runs of earlier traversals and marks their running ones superseded by
 * `traversal` (the compare-and-set also locks them: a completion racing with this update
 * either lands first, and is not waited for, or after, and sees the mark). Answers, by task
 * name, how many runs the new traversal's run of that task must wait for.
 */
async function supersede(
  t: Transition,
  executionId: string,
  traversal: string,
): Promise<Map<string, number>> {
  const changes: RunChange[] = [];
  for (const run of await t.tx.listRuns(executionId)) {
    if (isTerminalTask(run.status)) continue;
    const guard = { executionId, seq: run.seq, status: [run.status], traversal: run.traversal };
    changes.push(
      run.status === "running"
        ? { guard, patch: { supersededBy: traversal } }
        : {
            guard,
            patch: { status: "cancelled", finishedAt: t.now, leaseOwner: null, leaseExpiresAt: null },
          },
    );
  }
  const inFlight = new Map<string, number>();
  const changed = changes.length > 0 ? await t.tx.updateRuns(changes) : [];
  for (const run of changed) {
    if (!run || (run.kind !== RunKind.task && run.kind !== RunKind.undo)) continue;
    if (run.status === "running") inFlight.set(run.task, (inFlight.get(run.task) ?? 0) + 1);
    else if (run.kind === RunKind.task)
      t.runEvent(EventType.taskCancelled, run, { data: { superseded: true } });
  }
  return inFlight;
}

/**
 * A run that was running when a later traversal started has ended (any way at all): the same
 * task's run in that traversal stops waiting for it. Answers the delta that releases it, or
 * null when that traversal has no such task.
 */
export async function releaseSuperseded(
  t: Transition,
  run: TaskRunRecord,
): Promise<{ executionId: string; seq: number; traversal: string; failed: 0; skipped: 0 } | null> {
  const later = run.supersededBy!;
  const { layout } = await t.specs.get(t.tx, run.executionId, later);
  const seq = layout.seqOf.get(run.task);
  return seq === undefined
    ? null
    : { executionId: run.executionId, seq, traversal: later, failed: 0, skipped: 0 };
}

/**
 * The current traversal's tasks all ended and none failed, and its output is `output`. The
 * first traversal ends the execution at once (it replaced nothing); a later one first cleans
 * up the live versions it does not use.
 */
export async function traversalSucceeded(
  t: Transition,
  execution: ExecutionRecord,
  output: unknown,
): Promise<void> {
  if (execution.base === 0) {
    await endExecution(t, execution, "succeeded", output);
    return;
  }
  const cleanup = await planCleanup(t, execution);
  if (cleanup.length === 0) {
    await endTraversal(t, { ...execution, output });
    return;
  }
  await t.tx.updateExecution(
    execution.id,
    { status: ["running"], traversal: execution.traversal },
    { output, updatedAt: t.now },
  );
  await t.tx.insertRuns(cleanup);
  t.event({
    executionId: execution.id,
    type: EventType.traversalCleanup,
    status: "running",
    data: { undos: cleanup.length - 1 },
  });
  for (const run of cleanup) if (run.status === "ready") t.markReady(run);
}

/** The cleanup of the current traversal ended: the execution ends (succeeded, or undone for an undo). */
export async function cleanupEnded(t: Transition, execution: ExecutionRecord): Promise<void> {
  await endTraversal(t, execution);
}

async function endTraversal(t: Transition, execution: ExecutionRecord): Promise<void> {
  const row = (await t.tx.listTraversals(execution.id)).find((r) => r.id === execution.traversal);
  // An undo, or a rollback with no good traversal to go back to, leaves nothing.
  const nothing =
    row?.cause === TraversalCause.undo ||
    (row?.cause === TraversalCause.rollback && Object.keys(execution.spec.tasks).length === 0);
  await endExecution(t, execution, nothing ? "undone" : "succeeded");
}

/**
 * The current traversal failed (a task failed, its output could not be computed, it timed
 * out). The first traversal compensates as it always did. A later one ends failed and keeps
 * every version live, so that `weft rollback` can reuse what the failed update replaced, or,
 * started with `rollbackOnFailure`, rolls back at once.
 */
export async function traversalFailed(
  t: Transition,
  execution: ExecutionRecord,
  error: ExecutionError | null,
): Promise<void> {
  if (execution.base === 0) {
    await compensate(t, execution, "failed", error);
    return;
  }
  const rows = await t.tx.listTraversals(execution.id);
  const current = rows.find((row) => row.id === execution.traversal);
  await compensate(t, execution, "failed", error, false);
  if (!current?.rollbackOnFailure) return;
  const failed = (await t.tx.getExecution(execution.id))!;
  await startTraversal(t, failed, {
    cause: TraversalCause.rollback,
    ...rollbackTarget(rows, execution),
  });
}

/**
 * What a rollback converges on: the definition and input of the last traversal before the
 * current one that succeeded with another definition or input than the current one's (going
 * back to the same would change nothing), or nothing (like an undo) when none did.
 */
export function rollbackTarget(
  rows: readonly TraversalRecord[],
  current: ExecutionRecord,
): Pick<TraversalRequest, "spec" | "input"> {
  const same = (row: TraversalRecord) =>
    JSON.stringify([row.spec, row.input]) === JSON.stringify([current.spec, current.input]);
  const good = [...rows]
    .reverse()
    .find((row) => row.status === "succeeded" && row.id !== current.traversal && !same(row));
  return good ? { spec: good.spec, input: good.input } : { spec: null };
}

/**
 * The undo runs that clean up after the current traversal: one per live version with an undo
 * that the traversal does not use, each waiting for the undos of the versions that depended on
 * it (through versions that need no undo, too), and the end of the cleanup. Empty when there is
 * nothing to clean.
 */
async function planCleanup(t: Transition, execution: ExecutionRecord): Promise<TaskRunRecord[]> {
  const runs = await t.tx.listRuns(execution.id);
  const bySeq = new Map(runs.map((run) => [run.seq, run]));
  const used = new Set<number>();
  for (const run of runs)
    if (run.traversal === execution.traversal && run.kind === RunKind.task && run.status === "succeeded")
      used.add(run.reusedFrom ?? run.seq);
  const specs = new Map<string, WorkflowSpec>();
  const specOf = async (traversal: string) => {
    let spec = specs.get(traversal);
    if (!spec) {
      spec = (await t.specs.get(t.tx, execution.id, traversal)).spec;
      specs.set(traversal, spec);
    }
    return spec;
  };
  const toClean: TaskRunRecord[] = [];
  for (const run of runs) {
    if (run.kind !== RunKind.task || run.status !== "succeeded") continue;
    if (run.reusedFrom !== null || run.undoneAt !== null || used.has(run.seq)) continue;
    if ((await specOf(run.traversal)).tasks[run.task]?.undo !== undefined) toClean.push(run);
  }
  if (toClean.length === 0) return [];
  const cleaned = new Set(toClean.map((run) => run.seq));
  // The versions each version read, as the seqs of the versions (a reused run stands for its version).
  const dependencies = async (version: TaskRunRecord): Promise<number[]> => {
    const { layout, spec } = await t.specs.get(t.tx, execution.id, version.traversal);
    return (spec.tasks[version.task]?.dependsOn ?? []).flatMap((name) => {
      const run = bySeq.get(layout.seqOf.get(name) ?? -1);
      return run ? [run.reusedFrom ?? run.seq] : [];
    });
  };
  // The nearest cleaned versions below each cleaned one, walking through the others.
  const below = new Map<number, Set<number>>();
  const nearest = async (seq: number, seen: Set<number>): Promise<Set<number>> => {
    const found = new Set<number>();
    const version = bySeq.get(seq);
    if (!version || seen.has(seq)) return found;
    seen.add(seq);
    for (const dependency of await dependencies(version)) {
      if (cleaned.has(dependency)) found.add(dependency);
      else for (const deeper of await nearest(dependency, seen)) found.add(deeper);
    }
    return found;
  };
  for (const version of toClean) below.set(version.seq, await nearest(version.seq, new Set()));
  const first = await t.tx.allocateSeqs(execution.id, toClean.length + 1);
  const undoSeq = new Map(toClean.map((version, i) => [version.seq, first + i]));
  const endSeq = first + toClean.length;
  const dependents = new Map<number, number>();
  for (const deps of below.values())
    for (const dep of deps) dependents.set(dep, (dependents.get(dep) ?? 0) + 1);
  let roots = 0;
  const cleanup: TaskRunRecord[] = [];
  for (const version of toClean) {
    const task = (await specOf(version.traversal)).tasks[version.task]!;
    const successors = [...below.get(version.seq)!].map((dep) => undoSeq.get(dep)!);
    if (successors.length === 0) {
      successors.push(endSeq);
      roots += 1;
    }
    const pending = dependents.get(version.seq) ?? 0;
    cleanup.push(
      cleanupRun(execution, t.now, {
        seq: undoSeq.get(version.seq)!,
        task: version.task,
        kind: RunKind.undo,
        status: pending === 0 ? "ready" : "blocked",
        pending,
        rule: "all_done",
        successors,
        maxAttempts: task.retry.attempts,
        timeout: task.timeout ?? null,
        target: version.seq,
      }),
    );
  }
  cleanup.push(
    cleanupRun(execution, t.now, {
      seq: endSeq,
      task: "$cleanup_end",
      kind: RunKind.cleanupEnd,
      status: "blocked",
      pending: roots,
      rule: "end",
      successors: [],
      maxAttempts: 1,
      timeout: null,
      target: null,
    }),
  );
  return cleanup;
}

function cleanupRun(
  execution: ExecutionRecord,
  now: number,
  shape: Pick<
    TaskRunRecord,
    | "seq"
    | "task"
    | "kind"
    | "status"
    | "pending"
    | "rule"
    | "successors"
    | "maxAttempts"
    | "timeout"
    | "target"
  >,
): TaskRunRecord {
  return {
    executionId: execution.id,
    traversal: execution.traversal,
    attempt: 0,
    interruptions: 0,
    failedPredecessors: 0,
    skippedPredecessors: 0,
    allowFailure: false,
    runAfter: now,
    leaseOwner: null,
    leaseExpiresAt: null,
    deadline: null,
    tokenHash: null,
    code: null,
    versionKey: null,
    reusedFrom: null,
    undoneAt: null,
    supersededBy: null,
    item: null,
    output: null,
    error: null,
    startedAt: null,
    finishedAt: null,
    ...shape,
  };
}
