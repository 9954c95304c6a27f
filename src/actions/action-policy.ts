/**
 * Which actions a definition sent over HTTP may use. Whoever can call the API is not thereby
 * allowed to run commands as the server's user: `shell` and `js` are refused by default, and
 * the operator opens them with `--allow-actions` (`WEFT_ALLOW_ACTIONS`). The server checks a
 * definition when it is registered; workers check again before each run of an execution whose
 * definition came over HTTP, so one misconfigured process cannot open the door for good.
 */
import { BUILTIN_ACTIONS, type WorkflowSpec } from "../definition/spec.js";
import { InvalidInputError } from "../shared/errors.js";

/** The actions allowed over HTTP by default: all but `shell` and `js` (and builder functions, which cannot be sent). */
export const DEFAULT_HTTP_ACTIONS: readonly string[] = Object.freeze([
  "noop",
  "echo",
  "sleep",
  "fail",
  "http",
  "delegate",
  // A client of the API may start any registered workflow already; the child keeps its own origin.
  "workflow",
]);

/** How an operator changes the policy; named in every refusal. */
export const ALLOW_ACTIONS_FLAG = "--allow-actions (or WEFT_ALLOW_ACTIONS)";

/** A compiled action policy: the actions definitions from HTTP may use. */
export interface ActionPolicy {
  readonly allowed: ReadonlySet<string>;
}

/**
 * Compiles `--allow-actions` / `WEFT_ALLOW_ACTIONS`: a comma- or space-separated list of
 * actions, `*` for every action. The list replaces the default; undefined or empty keeps
 * the default (`noop,echo,sleep,fail,http,delegate,workflow`). An unknown name is refused.
 *
 * @example
 * compileActionPolicy("noop,echo,http,delegate,shell").allowed.has("shell") // true
 * compileActionPolicy(undefined).allowed.has("shell") // false
 */
export function compileActionPolicy(list?: string | readonly string[]): ActionPolicy {
  const names = (typeof list === "string" ? [list] : (list ?? []))
    .flatMap((item) => item.split(/[\s,]+/))
    .filter((name) => name !== "");
  if (names.length === 0) return Object.freeze({ allowed: new Set(DEFAULT_HTTP_ACTIONS) });
  if (names.includes("*")) return Object.freeze({ allowed: new Set<string>(BUILTIN_ACTIONS) });
  for (const name of names) {
    if (!(BUILTIN_ACTIONS as readonly string[]).includes(name))
      throw new InvalidInputError(
        `--allow-actions names "${name}", which is no action: give some of ${BUILTIN_ACTIONS.join(", ")}, or * for all.`,
      );
  }
  return Object.freeze({ allowed: new Set(names) });
}

/** The default policy: what a server or worker started without `--allow-actions` enforces. */
export const DEFAULT_ACTION_POLICY: ActionPolicy = compileActionPolicy();

/** One use of an action by a definition: where it is, and which action. */
export interface ActionUse {
  task: string;
  /** `action`, `undo.action`, or `with.notify` (a delegate's notify request is sent with `http`). */
  where: "action" | "undo.action" | "with.notify";
  action: string;
}

/** Every action `spec` uses, undos and delegate notifications included. */
export function actionsUsed(spec: WorkflowSpec): ActionUse[] {
  const uses: ActionUse[] = [];
  for (const [task, definition] of Object.entries(spec.tasks)) {
    uses.push({ task, where: "action", action: definition.action });
    if (definition.action === "delegate" && definition.with.notify !== undefined)
      uses.push({ task, where: "with.notify", action: "http" });
    if (definition.undo) uses.push({ task, where: "undo.action", action: definition.undo.action });
  }
  return uses;
}

/** The uses of `spec` that `policy` refuses. */
export function refusedActions(spec: WorkflowSpec, policy: ActionPolicy): ActionUse[] {
  return actionsUsed(spec).filter((use) => !policy.allowed.has(use.action));
}

/** The sentence naming one refused use, its action and how to allow it; `who` is "this server" or "this worker". */
export function refusalMessage(use: ActionUse, who: string): string {
  const where = use.where === "action" ? "" : ` (${use.where})`;
  return (
    `Task "${use.task}"${where} uses action "${use.action}", which ${who} does not allow for definitions ` +
    `registered over HTTP: add "${use.action}" to ${ALLOW_ACTIONS_FLAG} to allow it.`
  );
}
