/**
 * The history of executions: the typed events the engine records in the transaction of the
 * transition they describe (logging, metrics and the dashboard subscribe to them). Re-exported
 * by `store.ts`, whose `appendEvents` writes them.
 */
import type { TaskError } from "../shared/errors.js";
import type { ExecutionError, RunKind } from "./store.js";

/** Every type of event, by name. */
export const EventType = {
  executionCreated: "execution:created",
  executionSucceeded: "execution:succeeded",
  executionFailed: "execution:failed",
  executionCancelled: "execution:cancelled",
  executionCompensating: "execution:compensating",
  /** An operator retried a failed task: the execution runs again. */
  executionRetried: "execution:retried",
  /** `weft undo` cleaned up every live version. */
  executionUndone: "execution:undone",
  /** An update, rollback or undo started a new traversal (data: traversal, number, cause, version). */
  traversalStarted: "traversal:started",
  /** The traversal's tasks all ended well: the undos of the versions it no longer uses run. */
  traversalCleanup: "traversal:cleanup",
  /** A task of a new traversal reused a live version instead of running (data: the version's seq). */
  taskReused: "task:reused",
  taskReady: "task:ready",
  taskSkipped: "task:skipped",
  taskStarted: "task:started",
  taskSucceeded: "task:succeeded",
  taskFailed: "task:failed",
  taskRetrying: "task:retrying",
  taskWaiting: "task:waiting",
  /** A forEach task's list was evaluated: its instances were created (data: instances, maxParallel). */
  taskExpanded: "task:expanded",
  taskCancelled: "task:cancelled",
  leaseExpired: "lease:expired",
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** One entry of an execution's history. */
export interface ExecutionEvent {
  /** Assigned by the store, increasing within an execution. */
  id?: number;
  executionId: string;
  at: number;
  type: EventType;
  task?: string;
  kind?: RunKind;
  attempt?: number;
  worker?: string;
  status?: string;
  error?: TaskError | ExecutionError;
  data?: unknown;
}

/**
 * Whether an event is about the execution or one of its user's tasks or undos, rather than an
 * internal run of the engine (the `$end` sync point that evaluates `output`, the end of the
 * undos): histories shown to people and progress displays keep only these.
 */
export function isUserEvent(event: Pick<ExecutionEvent, "kind">): boolean {
  return event.kind === undefined || event.kind === "task" || event.kind === "undo";
}
