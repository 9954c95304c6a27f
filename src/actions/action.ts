/**
 * The port every built-in action implements, and the helpers they share. The worker looks an
 * action up by name (`registry.ts`), calls it once per attempt and stores what it resolves to
 * (the task's output) or what it throws (turned into a `TaskError` by `toTaskError`).
 */
import type { TaskContext } from "../definition/spec.js";
import { WeftError } from "../shared/errors.js";
import type { EgressPolicy } from "./egress-policy.js";

/**
 * What an action receives: the task's context plus where relative paths resolve.
 *
 * @example
 * const ctx: ActionContext = { ...taskContext, baseDir: path.dirname(workflowFile) };
 */
export interface ActionContext extends TaskContext {
  /** Directory that relative `js` module paths resolve against (the workflow file's directory, or a worker's --workflows dir). */
  baseDir: string;
  /** Where `http` may connect. Default: DEFAULT_EGRESS_POLICY (anything but link-local and metadata addresses). */
  egress?: EgressPolicy;
}

/**
 * Runs one attempt. Resolves to the task's output; throws to fail (`TaskFailure` carries
 * `retryable`). Must honour `ctx.signal`: reject promptly and release what it holds when it aborts.
 *
 * @example
 * const echo: Action = async (args) => args.message ?? null;
 */
export type Action = (args: Record<string, unknown>, ctx: ActionContext) => Promise<unknown>;

/**
 * A task's `with` arguments are unusable by its action. Retrying cannot fix the workflow
 * definition, so the failure is not retryable (`toTaskError` reads the `retryable` property).
 *
 * @example
 * throw new ActionArgumentError("shell", "command", "must be a string");
 * // message: shell: "with.command" must be a string
 */
export class ActionArgumentError extends WeftError {
  /** Always false: the same arguments fail the same way on every attempt. */
  readonly retryable = false;
  /** The action's name, e.g. "shell". */
  readonly action: string;
  /** The field of `with` at fault, e.g. "command". */
  readonly field: string;

  constructor(action: string, field: string, problem: string) {
    super("ACTION_ARGUMENT", `${action}: "with.${field}" ${problem}`);
    this.action = action;
    this.field = field;
  }
}

/**
 * What an aborted attempt rejects with: the signal's reason (the worker passes a TimeoutError
 * or a cancellation), or an Error named "AbortError" when the signal was aborted without one.
 */
export function abortReason(signal: AbortSignal): unknown {
  if (signal.reason !== undefined) return signal.reason;
  const error = new Error("The task was aborted.");
  error.name = "AbortError";
  return error;
}

/**
 * Settles like `promise`, or rejects with the abort reason as soon as `signal` aborts. Used
 * where the work itself cannot be stopped (a user's `js` function that ignores the signal):
 * the attempt ends on time and the late result is dropped.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // The dropped promise may still reject later; without a handler that would crash the worker.
    promise.catch(() => {});
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
