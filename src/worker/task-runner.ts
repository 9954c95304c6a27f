/**
 * Runs one claimed run to an outcome: builds the expression scope from its predecessors'
 * results, evaluates `when` and `with`, calls the action under the attempt's timeout, and turns
 * whatever happens into an `Outcome` for the engine. Nothing here throws past its caller: a
 * task's failure is a stored value.
 */
import type { TaskFunction } from "../definition/builder.js";
import { callbackLinkRead } from "../definition/callback-reads.js";
import type { TaskContext, TaskSpec, WorkflowSpec } from "../definition/spec.js";
import { evaluateCondition, evaluateTemplate, type ExpressionScope } from "../definition/expressions.js";
import type { Engine, Outcome } from "../engine/engine.js";
import { instanceIndex, MAX_FOR_EACH_ITEMS, specTaskOf } from "../engine/for-each.js";
import { Origin, RunKind, type TaskRunRecord } from "../engine/store.js";
import { getAction } from "../actions/registry.js";
import { versionKey } from "../engine/version-key.js";
import { parseArguments } from "../actions/arguments.js";
import type { ActionContext } from "../actions/action.js";
import { refusalMessage, type ActionUse } from "../actions/action-policy.js";
import { DEFAULT_RUN_POLICY, type RunPolicy } from "../actions/run-policy.js";
import { TaskFailure, toTaskError, type TaskError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import { formatDuration } from "../shared/durations.js";
import type { AttemptAbort } from "./attempt-abort.js";

export type { TaskFunction };

/** What a worker knows of the workflow behind an execution. */
export interface LoadedWorkflow {
  spec: WorkflowSpec;
  input: Record<string, unknown>;
  /** Bodies of builder tasks (action "function"), by task name. */
  functions?: ReadonlyMap<string, TaskFunction>;
  /** Where relative paths of `js` modules and `shell` cwd resolve. */
  baseDir: string;
  /** Where the execution's definition came from; `http` ones are checked against the action policy. Default `direct`. */
  origin?: Origin;
  /** The seq of the traversal's first run: above 0, the execution was updated (its versions may be reused). */
  base?: number;
  /** The execution's code id (builder functions), part of their versions' keys. */
  code?: string | null;
}

/** What expressions see of a task that ended. */
export interface TaskResult {
  status: string;
  output: unknown;
}

/** The results a run's expressions may read: its predecessors' (or, for the end, every task's). */
export type ResultsReader = (
  run: TaskRunRecord,
  names: readonly string[],
) => Promise<Map<string, TaskResult>>;

export interface TaskRunnerDeps {
  engine: Engine;
  logger: Logger;
  readResults: ResultsReader;
  /** Where third parties reach the HTTP API (`--public-url`): the base of callback URLs. */
  publicUrl?: string;
  /** Runs a store call of the attempt, waiting out an outage (see store-outage.ts). */
  throughOutage: <T>(call: () => Promise<T>) => Promise<T>;
  /** Default DEFAULT_RUN_POLICY: no shell or js for definitions from HTTP; no link-local or metadata hosts. */
  policy?: RunPolicy;
  /** A `workflow` task started this sub-workflow (a sync runner follows it). */
  onChildStarted?: (executionId: string) => void;
}

/** An action this worker's policy refuses to a definition from HTTP: fails the run for good. */
export class ActionNotAllowedError extends TaskFailure {
  constructor(use: ActionUse) {
    super(refusalMessage(use, "this worker"), { retryable: false, type: "ActionNotAllowed" });
  }
}

/**
 * Refuses the run when its definition came over HTTP and uses an action (or, for a delegate
 * with `with.notify`, `http`) that this worker's policy does not allow. Checked before anything
 * of the task is evaluated: the server checked at registration, but its policy may have been
 * wider than this worker's, or the row may have been written by anyone with the API's access.
 */
function checkPolicy(policy: RunPolicy, workflow: LoadedWorkflow, run: TaskRunRecord, isUndo: boolean): void {
  if (workflow.origin !== Origin.http) return;
  const task = workflow.spec.tasks[specTaskOf(run.task)]!;
  const uses: ActionUse[] = isUndo
    ? [{ task: run.task, where: "undo.action", action: task.undo!.action }]
    : [{ task: run.task, where: "action", action: task.action }];
  if (!isUndo && task.action === "delegate" && task.with.notify !== undefined)
    uses.push({ task: run.task, where: "with.notify", action: "http" });
  const refused = uses.find((use) => !policy.actions.allowed.has(use.action));
  if (refused) throw new ActionNotAllowedError(refused);
}

/** Raised into an attempt's signal when its timeout passes. */
export class AttemptTimeoutError extends TaskFailure {
  constructor(ms: number) {
    super(`the attempt timed out after ${formatDuration(ms)}`, { retryable: true, type: "TimeoutError" });
  }
}

function scopeOf(
  run: TaskRunRecord,
  workflow: LoadedWorkflow,
  results: Map<string, TaskResult>,
  callback?: unknown,
): ExpressionScope {
  const tasks: Record<string, { output: unknown; status: string }> = {};
  for (const [name, result] of results) tasks[name] = { output: result.output, status: result.status };
  return {
    inputs: workflow.input,
    tasks,
    execution: { id: run.executionId, workflow: workflow.spec.name },
    // Only an instance of a forEach task has these (validation refuses them elsewhere).
    ...(run.kind === RunKind.instance ? { item: run.item, index: instanceIndex(run.task) } : {}),
    callback,
  } as ExpressionScope;
}

/**
 * Evaluates a forEach task's list: its outcome creates one instance per item. Anything but a
 * list fails the task for good (the same predecessors would yield the same value again).
 */
async function expand(run: TaskRunRecord, forEach: string, scope: ExpressionScope): Promise<Outcome> {
  const items = await evaluateTemplate(forEach, scope);
  if (!Array.isArray(items)) {
    const shown = items === undefined ? "nothing" : JSON.stringify(items);
    throw new TaskFailure(
      `forEach ${JSON.stringify(forEach)} yielded ${shown.length > 200 ? `${shown.slice(0, 200)}...` : shown}, expected a list (a path over a list of one yields its item: wrap the expression in [ ] to keep a list)`,
      { retryable: false, type: "ForEachNotAList" },
    );
  }
  if (items.length > MAX_FOR_EACH_ITEMS) {
    throw new TaskFailure(
      `forEach ${JSON.stringify(forEach)} yielded ${items.length.toLocaleString("en-US")} items, more than the ${MAX_FOR_EACH_ITEMS.toLocaleString("en-US")} a task may fan out to: split the list across tasks`,
      { retryable: false, type: "ForEachTooLong" },
    );
  }
  return { run, status: "expanded", items };
}

/**
 * Runs one attempt of `run` and answers its outcome, or null when the run is no longer this
 * worker's to report (a delegate now waiting for its callback).
 */
export async function runAttempt(
  deps: TaskRunnerDeps,
  run: TaskRunRecord,
  workflow: LoadedWorkflow,
  abort: AttemptAbort,
): Promise<Outcome | null> {
  const { spec } = workflow;
  try {
    if (run.kind === RunKind.end) {
      const results = await deps.readResults(run, Object.keys(spec.tasks));
      const output = await evaluateTemplate(spec.output, scopeOf(run, workflow, results));
      return { run, status: "succeeded", output: output ?? null };
    }
    const task = spec.tasks[specTaskOf(run.task)];
    if (!task) throw new TaskFailure(`the workflow has no task "${run.task}"`, { retryable: false });
    const isUndo = run.kind === RunKind.undo;
    const policy = deps.policy ?? DEFAULT_RUN_POLICY;
    checkPolicy(policy, workflow, run, isUndo);
    const results = await deps.readResults(run, isUndo ? [run.task, ...task.dependsOn] : task.dependsOn);
    const scope = scopeOf(run, workflow, results);
    const isInstance = run.kind === RunKind.instance;
    // `when` decides the whole forEach task, once, before its list is evaluated.
    if (!isUndo && !isInstance && task.when !== undefined && !(await evaluateCondition(task.when, scope))) {
      return { run, status: "skipped" };
    }
    if (!isUndo && !isInstance && task.forEach !== undefined) return await expand(run, task.forEach, scope);
    const action = isUndo ? task.undo!.action : task.action;
    const updated = (workflow.base ?? 0) > 0;
    // An instance's version is its item's too: a function's with may not read it.
    const keyed = (args: unknown) => (isInstance ? { item: run.item, args } : args);
    if (action === "delegate" && !isUndo) {
      // What it waits for is its definition and its predecessors' results (its with reads the callback).
      const key = versionKey(task, keyed(null), { predecessors: Object.fromEntries(results) });
      const reused = updated ? await reuse(deps, run, key) : null;
      if (reused) return reused;
      await startWaiting(deps, run, task.with, scope, policy, key);
      return null;
    }
    if (isUndo && task.forEach !== undefined)
      return await undoInstances(deps, run, workflow, task, scope, policy, abort);
    const args = (await evaluateTemplate(isUndo ? task.undo!.with : task.with, scope)) as Record<
      string,
      unknown
    >;
    if (action === "workflow" && !isUndo) {
      await startSubflow(deps, run, args ?? {});
      return null;
    }
    const ctx: ActionContext = {
      get signal() {
        return abort.signal;
      },
      executionId: run.executionId,
      task: run.task,
      attempt: run.attempt,
      // Each version of an updated execution is its own side effect: its key names the run.
      idempotencyKey:
        `${run.executionId}:${isUndo ? "undo:" : ""}${run.task}` +
        (updated ? `:${isUndo ? (run.target ?? run.seq) : run.seq}` : ""),
      logger: deps.logger,
      inputs: workflow.input,
      baseDir: workflow.baseDir,
      egress: policy.egress,
      ...(isInstance ? { item: scope.item, index: scope.index } : {}),
    };
    const key = isUndo
      ? undefined
      : versionKey(task, keyed(args ?? {}), {
          code: action === "function" ? (workflow.code ?? null) : null,
          predecessors: action === "function" ? Object.fromEntries(results) : undefined,
        });
    if (key !== undefined && updated) {
      const reused = await reuse(deps, run, key);
      if (reused) return reused;
    }
    const body = action === "function" ? functionBody(workflow, run, results) : getAction(action);
    if (!body)
      throw new TaskFailure(`unknown action "${action}"`, { retryable: false, type: "UnknownAction" });
    const output = await abort.race(body(args ?? {}, ctx));
    return { run, status: "succeeded", output: output === undefined ? null : output, versionKey: key };
  } catch (thrown) {
    return { run, status: "failed", error: toTaskError(thrown) };
  }
}

/**
 * The undo of a forEach task: each instance that succeeded is undone in turn, last item first,
 * its `with` seeing that instance's `item`, `index` and output (as `tasks.NAME.output`). One run
 * undoes them all, so a retry undoes them again: each call gets the instance's own idempotency key.
 */
async function undoInstances(
  deps: TaskRunnerDeps,
  run: TaskRunRecord,
  workflow: LoadedWorkflow,
  task: TaskSpec,
  scope: ExpressionScope,
  policy: RunPolicy,
  abort: AttemptAbort,
): Promise<Outcome> {
  const version = (
    await deps.throughOutage(() => deps.engine.store.getRuns(run.executionId, [run.target ?? -1]))
  )[0];
  if (!version) throw new TaskFailure(`the forEach task "${run.task}" to undo is gone`, { retryable: false });
  const all = await deps.throughOutage(() => deps.engine.store.listRuns(run.executionId));
  const instances = all
    .filter(
      (candidate) =>
        candidate.kind === RunKind.instance &&
        candidate.traversal === version.traversal &&
        candidate.status === "succeeded" &&
        specTaskOf(candidate.task) === run.task,
    )
    .sort((a, b) => b.seq - a.seq);
  const body = getAction(task.undo!.action);
  if (!body)
    throw new TaskFailure(`unknown action "${task.undo!.action}"`, {
      retryable: false,
      type: "UnknownAction",
    });
  for (const instance of instances) {
    const index = instanceIndex(instance.task)!;
    const instanceScope = {
      ...scope,
      tasks: { ...scope.tasks, [run.task]: { output: instance.output, status: instance.status } },
      item: instance.item,
      index,
    } as ExpressionScope;
    const args = (await evaluateTemplate(task.undo!.with, instanceScope)) as Record<string, unknown>;
    await abort.race(
      body(args ?? {}, {
        get signal() {
          return abort.signal;
        },
        executionId: run.executionId,
        task: instance.task,
        attempt: run.attempt,
        idempotencyKey: `${run.executionId}:undo:${instance.task}:${instance.seq}`,
        logger: deps.logger,
        inputs: workflow.input,
        baseDir: workflow.baseDir,
        egress: policy.egress,
        item: instance.item,
        index,
      }),
    );
  }
  return { run, status: "succeeded", output: null };
}

/**
 * A task of an updated execution whose definition and inputs (its key) match a live version:
 * that version's output stands for it, and its body does not run.
 */
async function reuse(deps: TaskRunnerDeps, run: TaskRunRecord, key: string): Promise<Outcome | null> {
  const version = await deps.throughOutage(() =>
    deps.engine.store.findVersion(run.executionId, run.task, key),
  );
  if (!version) return null;
  return { run, status: "succeeded", output: version.output, versionKey: key, reusedFrom: version.seq };
}

/**
 * A `workflow` task starts its sub-workflow and waits for it: the child's end settles the run
 * (engine/subflows.ts), so this attempt reports nothing itself. A workflow that is not registered,
 * an input it refuses or the depth limit throw a non-retryable failure, reported as the outcome.
 */
async function startSubflow(deps: TaskRunnerDeps, run: TaskRunRecord, args: Record<string, unknown>) {
  const { workflow, version, input } = parseArguments("workflow", args);
  const child = await deps.throughOutage(() => deps.engine.startChild(run, { workflow, version, input }));
  if (child) deps.onChildStarted?.(child.id);
}

/** What a waiting delegate hands to a third party, in expressions as `callback`. */
export interface CallbackLinks {
  token: string;
  url?: string;
  failUrl?: string;
  heartbeatUrl?: string;
}

export function callbackLinks(token: string, publicUrl?: string): CallbackLinks {
  if (!publicUrl) return { token };
  const base = `${publicUrl.replace(/\/+$/, "")}/v1/callbacks/${token}`;
  return { token, url: `${base}/complete`, failUrl: `${base}/fail`, heartbeatUrl: `${base}/heartbeat` };
}

/**
 * A delegate starts waiting (its token is stored, hashed, in the same step), then its `with` is
 * evaluated with `callback` in scope and `with.notify`, when given, is sent to the third party.
 * A notify that keeps failing fails the attempt, so the retry policy hands out a new token.
 */
async function startWaiting(
  deps: TaskRunnerDeps,
  run: TaskRunRecord,
  args: Record<string, unknown>,
  scope: ExpressionScope,
  policy: RunPolicy,
  key: string,
): Promise<void> {
  const link = deps.publicUrl ? undefined : callbackLinkRead(args);
  if (link !== undefined) {
    // Without a public URL the link would be empty and the third party could never call back.
    throw new TaskFailure(
      `the delegate's with reads ${link}, but this process knows no public URL: start it with --public-url (or WEFT_PUBLIC_URL) set to where the HTTP API is reached`,
      { type: "NoPublicUrl", retryable: false },
    );
  }
  const waiting = await deps.throughOutage(() => deps.engine.wait(run, key));
  if (!waiting || args.notify === undefined) return;
  const callback = callbackLinks(waiting.token, deps.publicUrl);
  void (async () => {
    try {
      const request = (await evaluateTemplate(args.notify, {
        ...scope,
        callback,
      } as ExpressionScope)) as Record<string, unknown>;
      await sendNotify(request, deps.logger, policy);
    } catch (error) {
      const message = `notify failed: ${error instanceof Error ? error.message : String(error)}`;
      deps.logger.warn(`${run.task}: ${message}`);
      // A host the egress policy refuses stays refused: another token would not help.
      const refused = toTaskError(error).type === "EgressRefused";
      await deps.throughOutage(() =>
        deps.engine.failByToken(waiting.token, {
          type: refused ? "EgressRefused" : "NotifyFailed",
          message,
          retryable: !refused,
        }),
      );
    }
  })().catch((error: unknown) =>
    // Only a bug gets here (outages are waited out): the delegate's deadline still applies.
    deps.logger.error(`${run.task}: could not record the failed notify: ${String(error)}`),
  );
}

/** Sends a delegate's notify request with the http action, retrying retryable failures. */
async function sendNotify(
  request: Record<string, unknown>,
  logger: Logger,
  policy: RunPolicy,
): Promise<void> {
  const http = getAction("http")!;
  const controller = new AbortController();
  const ctx = {
    executionId: "",
    task: "notify",
    attempt: 1,
    idempotencyKey: "",
    signal: controller.signal,
    logger,
    inputs: {},
    baseDir: ".",
    egress: policy.egress,
  };
  for (let attempt = 1; ; attempt++) {
    try {
      await http(request, { ...ctx, attempt });
      return;
    } catch (error) {
      const retryable = toTaskError(error).retryable;
      if (!retryable || attempt >= NOTIFY_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** (attempt - 1)));
    }
  }
}

const NOTIFY_ATTEMPTS = 5;

function functionBody(workflow: LoadedWorkflow, run: TaskRunRecord, results: Map<string, TaskResult>) {
  const fn = workflow.functions?.get(specTaskOf(run.task));
  if (!fn) return undefined;
  const depsOutputs: Record<string, unknown> = {};
  for (const name of workflow.spec.tasks[specTaskOf(run.task)]!.dependsOn)
    depsOutputs[name] = results.get(name)?.output;
  return async (_args: Record<string, unknown>, ctx: TaskContext) => fn(depsOutputs, ctx);
}

/** The stored error of an attempt its worker gave up on (shutdown, lost lease). */
export function abandonedError(message: string): TaskError {
  return { type: "Abandoned", message, retryable: true };
}
