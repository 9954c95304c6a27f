/**
 * The small built-in actions: `noop`, `echo`, `sleep` and `fail`. They do no I/O, so they are
 * what examples and tests use to shape a workflow, time it, and exercise retries.
 */
import { TaskFailure } from "../shared/errors.js";
import { parseDuration } from "../shared/durations.js";
import { setLongTimeout } from "../shared/long-timeout.js";
import { abortReason, type Action } from "./action.js";
import { parseArguments } from "./arguments.js";

/**
 * `noop`: does nothing; its output is the whole `with` object (`{}` when empty), which makes
 * it a convenient place to gather values from other tasks.
 *
 * @example
 * // with: { total: "${{ tasks.sum.output }}" } -> output { total: 42 }
 */
export const noopAction: Action = async (args) => args;

/**
 * `echo`: output is `with.message`, any JSON value; absent becomes null (outputs are JSON).
 *
 * @example
 * // with: { message: "hello" } -> output "hello"
 */
export const echoAction: Action = async (args) => args.message ?? null;

/**
 * `sleep`: waits `with.duration` (ms, or "250ms", "2s", ...) and resolves null. Rejects at once
 * when the attempt is aborted, so a timeout or cancel never waits for the full delay.
 *
 * @example
 * // with: { duration: "2s" } -> output null after two seconds
 */
export const sleepAction: Action = (args, ctx) => {
  let ms: number;
  try {
    // The schema accepts only durations parseDuration reads.
    ms = parseDuration(parseArguments("sleep", args).duration)!;
  } catch (error) {
    return Promise.reject(error);
  }
  const { signal } = ctx;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      timer.clear();
      reject(abortReason(signal));
    };
    // Node's own setTimeout fires after 1 ms for delays past 24.8 days.
    const timer = setLongTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(null);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
};

/**
 * `fail`: throws `TaskFailure(with.message ?? "failed on purpose", { retryable: with.retryable ?? true })`.
 * With `with.untilAttempt: N` it fails every attempt before N and succeeds from attempt N on,
 * with output `{ attempt }`: the way to show a retry policy at work.
 *
 * @example
 * // with: { untilAttempt: 3 }, retry: { attempts: 3 } -> fails twice, then output { attempt: 3 }
 */
export const failAction: Action = async (args, ctx) => {
  const parsed = parseArguments("fail", args);
  const message = parsed.message ?? "failed on purpose";
  const retryable = parsed.retryable ?? true;
  const untilAttempt = parsed.untilAttempt;
  if (untilAttempt !== undefined && untilAttempt !== null && ctx.attempt >= untilAttempt)
    return { attempt: ctx.attempt };
  throw new TaskFailure(message, { retryable });
};
