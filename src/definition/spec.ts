import type { Logger } from "../shared/logger.js";

/**
 * The workflow model as plain data. Both the TypeScript builder and the YAML/JSON DSL compile
 * to a `WorkflowSpec`; everything downstream (engine, stores, workers) sees only this form.
 * Durations are compiled to milliseconds; expressions stay as their `${{ }}` source text.
 * A spec is JSON-serialisable: stores keep it as JSON and workers read it back.
 */

/** How a task reacts to its predecessors' outcomes. */
export const Trigger = {
  /** Run when every predecessor succeeded; skip when one failed or was skipped (skips propagate). */
  allSuccess: "all_success",
  /** Run when every predecessor ended, whatever the outcome. */
  allDone: "all_done",
  /** Run when at least one predecessor failed; skip otherwise. */
  anyFailed: "any_failed",
} as const;
export type Trigger = (typeof Trigger)[keyof typeof Trigger];
export const TRIGGERS: readonly Trigger[] = Object.values(Trigger);

/** The built-in actions. `function` is a TypeScript builder task whose body is an in-process function. */
export const BUILTIN_ACTIONS = [
  "noop",
  "echo",
  "sleep",
  "fail",
  "shell",
  "http",
  "js",
  "delegate",
  /** Starts a registered workflow as a sub-workflow and ends with its output or its error. */
  "workflow",
  "function",
] as const;
export type BuiltinAction = (typeof BUILTIN_ACTIONS)[number];

/** Retry policy, compiled. `attempts` counts every try, the first included. */
export interface RetryPolicy {
  /** Total tries, >= 1. Default 1 (no retry). */
  attempts: number;
  /** Delay before the second try, in ms. Default 1000. */
  backoff: number;
  /** Multiplier applied to the delay after each retry. Default 2. */
  factor: number;
  /** Upper bound of the delay, in ms. Default 60000. */
  maxBackoff: number;
  /**
   * Attempts whose worker was lost (lease expired, process died, worker shut down) do not count
   * against `attempts`; the task runs again this many times, then fails. Default 3.
   */
  interruptions: number;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({
  attempts: 1,
  backoff: 1000,
  factor: 2,
  maxBackoff: 60_000,
  interruptions: 3,
});

/** A compensation step: what undoes a succeeded task. */
export interface UndoSpec {
  action: string;
  with: Record<string, unknown>;
}

export interface TaskSpec {
  action: string;
  /** The action's arguments; strings may hold `${{ }}` expressions. */
  with: Record<string, unknown>;
  /**
   * Every predecessor: the explicit `after` plus every task an expression of this task reads
   * (`tasks.X`), sorted by name.
   */
  dependsOn: string[];
  /** The explicit predecessors as written (`after`), in source order. */
  after: string[];
  /** `${{ }}` expression; a false result skips the task. */
  when?: string;
  /**
   * `${{ }}` expression yielding a list: the task runs once per item (instances `NAME[i]`, whose
   * `with` reads `item` and `index`); its output is the list of their outputs, in order.
   */
  forEach?: string;
  /** With `forEach`: at most this many instances run at once. Absent: no limit. */
  maxParallel?: number;
  trigger: Trigger;
  /** true: this task failing does not fail the execution. */
  allowFailure: boolean;
  retry: RetryPolicy;
  /** Per-attempt timeout in ms (for `delegate`, the deadline of the wait). */
  timeout?: number;
  undo?: UndoSpec;
  description?: string;
}

export const InputType = {
  string: "string",
  number: "number",
  boolean: "boolean",
  object: "object",
  array: "array",
  any: "any",
} as const;
export type InputType = (typeof InputType)[keyof typeof InputType];

export interface InputSpec {
  type: InputType;
  default?: unknown;
  description?: string;
  /** true when there is no default and the input must be given. */
  required: boolean;
}

export interface WorkflowSpec {
  /** `[a-z0-9_-]+` */
  name: string;
  version?: number;
  description?: string;
  inputs: Record<string, InputSpec>;
  /** Task names in source order; the keys of `tasks`. */
  tasks: Record<string, TaskSpec>;
  /** `${{ }}` template of the execution's output, evaluated when it succeeds. */
  output?: unknown;
  /** Deadline for the whole execution, in ms. */
  timeout?: number;
}

/**
 * What a task body receives beside its inputs. The same object reaches built-in actions,
 * `js` module functions and TypeScript builder functions.
 */
export interface TaskContext {
  executionId: string;
  /** The task's name in its workflow. */
  task: string;
  /** 1 for the first try. */
  attempt: number;
  /** Stable across retries and re-runs of this task in this execution: `${executionId}:${task}`. */
  idempotencyKey: string;
  /** Fires when the attempt times out or the execution is cancelled. */
  signal: AbortSignal;
  logger: Logger;
  /** The execution's input, after defaults. */
  inputs: Record<string, unknown>;
  /** In an instance of a `forEach` task: its item. */
  item?: unknown;
  /** In an instance of a `forEach` task: its position in the list, from 0. */
  index?: number;
}
