/**
 * The state machines of executions and task runs, as data (after TaskFlow's states.py).
 * The engine checks every transition against these tables; `docs/states.md` is generated
 * from them (`npm run docs:states`) and a test fails when it is stale.
 */

export const ExecutionStatus = {
  pending: "pending",
  running: "running",
  /** A task failed, or the execution was cancelled with undo: the undos of succeeded tasks run. */
  compensating: "compensating",
  succeeded: "succeeded",
  failed: "failed",
  cancelled: "cancelled",
  /** `weft undo` ran the undo of every live version: nothing it made is left. */
  undone: "undone",
} as const;
export type ExecutionStatus = (typeof ExecutionStatus)[keyof typeof ExecutionStatus];

export const TaskStatus = {
  blocked: "blocked",
  ready: "ready",
  running: "running",
  /** A delegate task waiting for its callback, or a workflow task waiting for its sub-workflow. */
  waiting: "waiting",
  /** Ready again once `runAfter` has passed. */
  retrying: "retrying",
  succeeded: "succeeded",
  failed: "failed",
  skipped: "skipped",
  cancelled: "cancelled",
  /** A `forEach` task whose list was evaluated: its instances run, its sync point counts them. */
  expanded: "expanded",
} as const;
export type TaskStatus = (typeof TaskStatus)[keyof typeof TaskStatus];

type Transition<S> = readonly [from: S, to: S, why: string];

/** Every allowed execution transition, with the reason it happens. */
export const EXECUTION_TRANSITIONS: readonly Transition<ExecutionStatus>[] = [
  ["pending", "running", "its first task runs are created"],
  ["running", "succeeded", "every task ended succeeded, skipped, or failed with allowFailure"],
  ["running", "failed", "a task failed and no succeeded task has an undo"],
  ["running", "compensating", "a task failed, the workflow timed out, or a cancel asked for undo"],
  ["running", "cancelled", "cancelled without undo, or its parent's task stopped waiting for it"],
  ["compensating", "failed", "every undo ended after a failure or a timeout"],
  ["compensating", "cancelled", "every undo ended after a cancel"],
  ["pending", "cancelled", "cancelled before it started"],
  ["failed", "running", "an operator retried a failed task, or an update, rollback or undo started"],
  ["succeeded", "running", "an update, rollback or undo started a new traversal"],
  ["cancelled", "running", "an update, rollback or undo started a new traversal"],
  ["undone", "running", "an update or rollback started a new traversal"],
  ["compensating", "running", "an update, rollback or undo started a new traversal"],
  ["running", "undone", "the undo traversal cleaned up every live version"],
];

/** Every allowed task-run transition, with the reason it happens. */
export const TASK_TRANSITIONS: readonly Transition<TaskStatus>[] = [
  ["blocked", "ready", "its last predecessor ended and its trigger holds"],
  ["blocked", "skipped", "its last predecessor ended and its trigger does not hold"],
  ["blocked", "succeeded", "an internal sync point (the end of the execution or of its undos) resolved"],
  ["ready", "running", "a worker claimed it under a lease"],
  ["retrying", "running", "a worker claimed it after runAfter"],
  ["running", "succeeded", "its body returned, or its forEach list was empty"],
  ["running", "skipped", "its `when` condition was false"],
  [
    "running",
    "retrying",
    "its attempt failed and attempts remain, or its worker was lost and interruptions remain",
  ],
  [
    "running",
    "failed",
    "its attempt failed and no attempt remains (or the error is not retryable), or its worker was lost once more than retry.interruptions",
  ],
  [
    "running",
    "waiting",
    "a delegate task handed out its completion token, or a workflow task started its sub-workflow",
  ],
  ["running", "expanded", "its forEach list was evaluated: one instance per item was created"],
  ["expanded", "succeeded", "every instance of its forEach ended succeeded"],
  ["expanded", "failed", "every instance of its forEach ended, and one failed"],
  ["waiting", "succeeded", "its callback completed it, or its sub-workflow succeeded"],
  [
    "waiting",
    "retrying",
    "its callback failed it, its sub-workflow failed or its deadline passed, and attempts remain",
  ],
  [
    "waiting",
    "failed",
    "its callback failed it, its sub-workflow failed or was cancelled, or its deadline passed, and no attempt remains",
  ],
  ["blocked", "cancelled", "its execution was cancelled or timed out, or a new traversal superseded its own"],
  ["ready", "cancelled", "its execution was cancelled or timed out, or a new traversal superseded its own"],
  [
    "retrying",
    "cancelled",
    "its execution was cancelled or timed out, or a new traversal superseded its own",
  ],
  ["running", "cancelled", "its execution was cancelled or timed out"],
  ["waiting", "cancelled", "its execution was cancelled or timed out, or a new traversal superseded its own"],
  ["expanded", "cancelled", "its execution was cancelled or timed out"],
  ["failed", "ready", "an operator retried it"],
  ["skipped", "blocked", "an operator retried the failed task that skipped it"],
  ["cancelled", "blocked", "an operator retried the failed task that cancelled it"],
];

const TERMINAL_TASK = new Set<TaskStatus>(["succeeded", "failed", "skipped", "cancelled"]);
const TERMINAL_EXECUTION = new Set<ExecutionStatus>(["succeeded", "failed", "cancelled", "undone"]);

/**
 * Whether a run in `status` has a sync point that counts down: `blocked` runs wait for their
 * predecessors, `expanded` forEach tasks for their instances. `decrementSyncPoints` touches only these.
 */
export function countsDown(status: TaskStatus): boolean {
  return status === "blocked" || status === "expanded";
}

export function isTerminalTask(status: TaskStatus): boolean {
  return TERMINAL_TASK.has(status);
}

export function isTerminalExecution(status: ExecutionStatus): boolean {
  return TERMINAL_EXECUTION.has(status);
}

const allowedTask = new Set(TASK_TRANSITIONS.map(([from, to]) => `${from}>${to}`));
const allowedExecution = new Set(EXECUTION_TRANSITIONS.map(([from, to]) => `${from}>${to}`));

export function canTransitionTask(from: TaskStatus, to: TaskStatus): boolean {
  return allowedTask.has(`${from}>${to}`);
}

export function canTransitionExecution(from: ExecutionStatus, to: ExecutionStatus): boolean {
  return allowedExecution.has(`${from}>${to}`);
}

function diagram<S extends string>(
  title: string,
  transitions: readonly Transition<S>[],
  start: S,
  terminal: ReadonlySet<S>,
): string {
  const lines = [`## ${title}`, "", "```mermaid", "stateDiagram-v2", `  [*] --> ${start}`];
  for (const [from, to, why] of transitions) lines.push(`  ${from} --> ${to}: ${why.replaceAll(":", " -")}`);
  for (const state of terminal) lines.push(`  ${state} --> [*]`);
  lines.push("```", "");
  return lines.join("\n");
}

/**
 * `docs/states.md`, generated from the transition tables (`npm run docs:states`); a test
 * fails when the committed file is stale.
 */
export function statesMarkdown(): string {
  return [
    "# States",
    "",
    "Generated from `src/engine/states.ts` by `npm run docs:states`: do not edit by hand.",
    "",
    diagram("Execution", EXECUTION_TRANSITIONS, "pending", TERMINAL_EXECUTION),
    diagram("Task run", TASK_TRANSITIONS, "blocked", TERMINAL_TASK),
  ].join("\n");
}
