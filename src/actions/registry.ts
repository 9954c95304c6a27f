/**
 * The built-in actions by name. `delegate` and `function` are in `BUILTIN_ACTIONS` too but
 * are not here: they do not run a body in an attempt (a delegate waits for a callback, a
 * function task runs the builder's in-process function), so the worker handles them itself.
 */
import type { Action } from "./action.js";
import { echoAction, failAction, noopAction, sleepAction } from "./basic-actions.js";
import { httpAction } from "./http-action.js";
import { jsAction } from "./js-action.js";
import { shellAction } from "./shell-action.js";

/**
 * Every action a worker runs by name: noop, echo, sleep, fail, shell, http, js.
 *
 * @example
 * const output = await builtinActions.echo({ message: "hi" }, ctx); // "hi"
 */
export const builtinActions: Readonly<Record<string, Action>> = Object.freeze({
  noop: noopAction,
  echo: echoAction,
  sleep: sleepAction,
  fail: failAction,
  shell: shellAction,
  http: httpAction,
  js: jsAction,
});

/**
 * The built-in action called `name`, or undefined (also for "delegate" and "function").
 * Own properties only, so a task with `action: toString` is unknown rather than a crash.
 *
 * @example
 * const action = getAction(task.action);
 * if (!action) throw new TaskFailure(`unknown action "${task.action}"`, { retryable: false });
 */
export function getAction(name: string): Action | undefined {
  return Object.hasOwn(builtinActions, name) ? builtinActions[name] : undefined;
}
