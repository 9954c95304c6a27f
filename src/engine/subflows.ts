/**
 * Sub-workflows (`action: workflow`, TaskFlow's subflows): a run of a parent execution starts a
 * child execution of a registered workflow and waits for it, like a delegate waits for its
 * callback. Everything is decided in the transactions that already happen, so no process has to
 * remember a child: the step that starts it moves the parent's run to `waiting` and inserts the
 * child; the step that ends the child settles the parent's run (its output, or its error under
 * the task's retry policy: each attempt starts a new child); and any step in which a parent's
 * run stops waiting otherwise (cancelled, timed out, failed or completed by an operator) cancels
 * the child it no longer awaits.
 */
import { resolveInputs } from "./inputs.js";
import { applyOutcomes, attemptGuard } from "./outcomes.js";
import { recordExecution } from "./start-execution.js";
import { isTerminalExecution } from "./states.js";
import { EventType, RunKind, type ExecutionEvent, type ExecutionRecord, type ParentRun } from "./store.js";
import { compensate, endExecution, type EndedChild, type Transition } from "./transitions.js";
import type { Outcome } from "./engine.js";
import type { WorkflowSpec } from "../definition/spec.js";
import { InvalidInputError, TaskFailure } from "../shared/errors.js";
import { derivedId } from "../shared/ids.js";

/** How deep sub-workflows may nest by default (`EngineOptions.maxDepth`): a top execution is 0. */
export const DEFAULT_MAX_DEPTH = 10;

/** What a `workflow` task asks for: its evaluated `with`. */
export interface ChildRequest {
  workflow: string;
  /** Default: the highest version registered when the task starts. */
  version?: number | null;
  input?: Record<string, unknown> | null;
}

/**
 * The id of the child that one attempt of one run starts: derived from the attempt, so a start
 * run twice (a lost COMMIT, two workers racing) can only find the child already there.
 */
export function childIdOf(run: ParentRun): string {
  return derivedId("child", run.executionId, run.traversal, String(run.seq), String(run.attempt));
}

function describeWorkflow(name: string, version?: number | null): string {
  return `"${name}"${version == null ? "" : ` version ${version}`}`;
}

/**
 * Moves the claimed `run` to waiting and inserts its child, in `t`. Answers the child (the same
 * one when this attempt started it already), or null when the run is no longer this attempt's. Throws a non-retryable
 * TaskFailure, before writing anything, for a workflow no one registered, an input it refuses, or
 * a child past the depth limit: the caller reports it as the attempt's failure.
 */
export async function startChild(
  t: Transition,
  run: ParentRun,
  request: ChildRequest,
  maxDepth: number,
): Promise<ExecutionRecord | null> {
  const parent = await t.tx.getExecution(run.executionId);
  if (!parent || parent.traversal !== run.traversal) return null;
  const what = describeWorkflow(request.workflow, request.version);
  const record = await t.tx.getWorkflow(request.workflow, request.version ?? undefined);
  if (!record) {
    throw new TaskFailure(
      `the sub-workflow ${what} is not registered: register it with 'weft start FILE' or POST /v1/workflows`,
      { retryable: false, type: "WorkflowNotFound" },
    );
  }
  const depth = parent.depth + 1;
  if (depth > maxDepth) {
    throw new TaskFailure(
      `starting the sub-workflow ${what} would nest executions ${depth} deep, past the limit of ${maxDepth}: ` +
        "does a workflow start itself through an expression?",
      { retryable: false, type: "SubflowDepthExceeded" },
    );
  }
  let input: Record<string, unknown>;
  try {
    input = resolveInputs(record.spec, request.input ?? {});
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    throw new TaskFailure(`the sub-workflow ${what} refused its input: ${error.message}`, {
      retryable: false,
      type: "InvalidInput",
    });
  }
  const current = await t.tx.getRun(run.executionId, run.seq);
  const waiting = await t.tx.updateRun(
    { ...attemptGuard(run), status: ["running"] },
    {
      status: "waiting",
      deadline: current?.timeout != null ? t.now + current.timeout : null,
      leaseOwner: null,
      leaseExpiresAt: null,
    },
  );
  if (!waiting) {
    // Started already by this very attempt (a COMMIT whose answer was lost, then retried): the same child.
    if (current?.status !== "waiting" || current.attempt !== run.attempt) return null;
    return (await t.tx.getExecution(childIdOf(run))) ?? null;
  }
  const child = await recordExecution(t, record.spec, input, {
    id: childIdOf(run),
    baseDir: parent.baseDir,
    // As `POST /v1/executions` of that version would: its workers re-check what came over HTTP.
    origin: record.origin,
    code: record.code,
    parent: { executionId: run.executionId, seq: run.seq, attempt: run.attempt, traversal: run.traversal },
    depth,
  });
  t.runEvent(EventType.taskWaiting, waiting, { data: { child: child.id } });
  return child;
}

/**
 * What sub-workflows make of a step, run just before it commits (Engine.step): children that
 * ended settle their parents' runs, and children whose parent's run stopped waiting for them are
 * cancelled. Each may end more executions (a parent that was itself a child), so it goes on
 * until a round changes nothing.
 */
export async function settleSubflows(t: Transition): Promise<void> {
  let seen = 0;
  for (;;) {
    const ended = t.endedChildren.splice(0);
    const events = t.events.slice(seen);
    seen = t.events.length;
    if (ended.length > 0) await applyOutcomes(t, ended.map(parentOutcome));
    await cancelUnawaited(t, events);
    if (t.endedChildren.length === 0 && t.events.length === seen) return;
  }
}

/** The outcome a child's end reports to its parent's run (stale, it changes nothing). */
function parentOutcome({ execution, status, output }: EndedChild): Outcome {
  const run = execution.parent!;
  const name = `the sub-workflow "${execution.workflow}" (execution ${execution.id})`;
  if (status === "succeeded") return { run, status: "succeeded", output };
  if (status === "cancelled" || status === "undone") {
    // Cancelled (or undone) by someone, not by its parent (whose run would no longer wait): not retried.
    return {
      run,
      status: "failed",
      error: { type: "SubflowCancelled", message: `${name} was ${status}`, retryable: false },
    };
  }
  return {
    run,
    status: "failed",
    error: {
      type: execution.error?.type ?? "SubflowFailed",
      message: `${name} failed: ${execution.error?.message ?? "unknown error"}`,
      // The task's retry policy decides: a new attempt starts a new child.
      retryable: true,
    },
  };
}

/** Run ends after which a parent's run no longer waits for its child. */
const LEFT_WAITING = new Set<ExecutionEvent["type"]>([
  EventType.taskSucceeded,
  EventType.taskFailed,
  EventType.taskRetrying,
  EventType.taskCancelled,
]);

/** The names of a spec's `workflow` tasks, computed once per spec. */
const workflowTasks = new WeakMap<WorkflowSpec, ReadonlySet<string>>();

function workflowTasksOf(spec: WorkflowSpec): ReadonlySet<string> {
  let names = workflowTasks.get(spec);
  if (!names) {
    names = new Set(Object.keys(spec.tasks).filter((name) => spec.tasks[name]!.action === "workflow"));
    workflowTasks.set(spec, names);
  }
  return names;
}

/**
 * Cancels the children that the runs behind `events` stopped waiting for. A child whose own end
 * settled its parent has ended already, so only the abandoned ones are left open. The child runs
 * its undos when its parent does (it compensates) or a cancel asked for them; otherwise it stops.
 */
async function cancelUnawaited(t: Transition, events: readonly ExecutionEvent[]): Promise<void> {
  for (const event of events) {
    if (!LEFT_WAITING.has(event.type) || event.kind !== RunKind.task || event.task === undefined) continue;
    // The run the event is about, in its own traversal (an update cancels an earlier one's runs).
    const run = t.runOfEvent(event);
    if (!run || event.attempt === undefined || event.attempt < 1) continue;
    const { spec } = await t.specs.get(t.tx, event.executionId, run.traversal);
    if (!workflowTasksOf(spec).has(event.task)) continue;
    const child = await t.tx.getExecution(childIdOf({ ...run, attempt: event.attempt }));
    if (!child || isTerminalExecution(child.status)) continue;
    const parent = await t.tx.getExecution(event.executionId);
    const error = {
      type: "Cancelled",
      message: `its parent's task "${event.task}" (execution ${event.executionId}) no longer waits for it`,
    };
    if (child.status === "compensating") {
      await compensate(t, child, "cancelled", error, false);
      await endExecution(t, child, "cancelled");
    } else
      await compensate(t, child, "cancelled", error, t.undoAbandoned || parent?.status === "compensating");
  }
}
