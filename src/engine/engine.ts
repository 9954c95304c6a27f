/**
 * The passive engine (the Mistral seed's lazy engine): `start` records an execution and
 * answers its first ready runs; `complete`/`fail` record a result and answer the runs that
 * became ready because of it. It keeps no state of its own beyond caches of immutable specs:
 * every decision is applied by the Store in one transaction, so any number of engines in any
 * number of processes may work on the same executions, and any of them may die at any time.
 */
import type { WorkflowSpec } from "../definition/spec.js";
import type { Clock } from "../shared/clock.js";
import { ExecutionNotFoundError, InvalidInputError, type TaskError } from "../shared/errors.js";
import { hashToken, newId, newToken } from "../shared/ids.js";
import { resolveInputs } from "./inputs.js";
import { applyOutcomes, attemptGuard, compareRuns, failRuns, type RunFailure } from "./outcomes.js";
import { getWorkflow, registerWorkflow } from "./registry.js";
import { reopenTask } from "./reopen.js";
import {
  EventType,
  RunKind,
  type ExecutionEvent,
  type ExecutionRecord,
  Origin,
  type Store,
  type StoreTx,
  type TaskRunRecord,
  type WorkflowRecord,
} from "./store.js";
import { compensate, endExecution, SpecCache, timeoutError, Transition } from "./transitions.js";
import { rollbackTarget, startTraversal, traversalFailed, type TraversalRequest } from "./traversals.js";
import { recordExecution } from "./start-execution.js";
import { DEFAULT_MAX_DEPTH, settleSubflows, startChild, type ChildRequest } from "./subflows.js";
import { isTerminalExecution } from "./states.js";

export {
  StateConflictError,
  TraversalConflictError,
  WorkflowNotFoundError,
  WorkflowVersionConflictError,
} from "./errors.js";

/** Identifies one attempt of one run: what a worker reports against. */
export type RunRef = Pick<TaskRunRecord, "executionId" | "seq" | "attempt" | "traversal">;

/** One result a worker reports. */
export type Outcome =
  | {
      run: RunRef;
      status: "succeeded";
      output: unknown;
      /** The hash of what the body ran with (see version-key.ts): a later traversal may reuse it. */
      versionKey?: string;
      /** The body did not run: the live version at this seq was reused. */
      reusedFrom?: number;
    }
  | { run: RunRef; status: "failed"; error: TaskError }
  /** The worker gave the attempt up (it shuts down): not a failure, see `retry.interruptions`. */
  | { run: RunRef; status: "interrupted"; error: TaskError }
  | { run: RunRef; status: "skipped" }
  /** A forEach task's list, evaluated: one instance runs per item (see for-each.ts). */
  | { run: RunRef; status: "expanded"; items: unknown[] };

/** What a transaction of the engine did. */
export interface StepResult {
  /** How many of the reported outcomes were applied; the others were stale or duplicates. */
  applied: number;
  /** For each reported outcome, in order: whether it was applied. */
  appliedOutcomes: boolean[];
  /** Runs that became ready and were not claimed in the same transaction. */
  ready: TaskRunRecord[];
  /** Runs claimed in the same transaction for the caller (see `claim` option). */
  claimed: TaskRunRecord[];
  /** Executions that reached a terminal status. */
  ended: string[];
  /** Attempts failed by the watchdog (reap, abandon). */
  reaped: number;
}

export interface ClaimOptions {
  owner: string;
  limit: number;
  /** Only this execution's runs. */
  executionId?: string;
  /** Only these executions' runs (a sync runner and its sub-workflows); with `executionId`, those too. */
  executionIds?: readonly string[];
  /** The code ids whose functions the claimer has (see `ClaimRequest.codes`). */
  codes?: readonly string[];
}

export interface EngineOptions {
  /** Default 30 s: a worker that stops renewing its lease for this long loses its runs. */
  leaseMs?: number;
  /** Default: the store's clock, which every process sharing the store agrees on. */
  clock?: Clock;
  /** Called with every event after its transaction committed (logging, metrics, progress). */
  onEvents?: (events: readonly ExecutionEvent[]) => void;
  random?: () => number;
  /**
   * Default 10: how deep sub-workflows may nest (a top execution is 0). A `workflow` task that
   * would start a child deeper fails, not retried: a workflow that starts itself stops there.
   */
  maxDepth?: number;
}

/** The answer to a callback: what happened to the delegate behind a token. */
export type CallbackResult =
  | { status: "applied"; run: TaskRunRecord; step: StepResult }
  | { status: "duplicate"; run: TaskRunRecord }
  | { status: "conflict"; run: TaskRunRecord }
  /** The delegate belonged to a traversal that an update, rollback or undo replaced. */
  | { status: "superseded"; run: TaskRunRecord }
  | { status: "not_found" };

/** Options of `update`, `rollback` and `undo`. */
export interface TraversalOptions {
  /** The traversal the caller saw: refused (TraversalConflictError) when another one started since. */
  expectTraversal?: string;
  /** The new traversal's id (default: a new one): a caller retrying a lost COMMIT can tell it landed. */
  id?: string;
}

export class Engine {
  readonly leaseMs: number;
  /** How deep sub-workflows may nest (see `EngineOptions.maxDepth`). */
  readonly maxDepth: number;
  /** Where "now" comes from: `options.clock`, else the store's (see `Store.clock`). */
  readonly clock: Clock;
  private readonly specs = new SpecCache();
  private readonly random: () => number;

  constructor(
    readonly store: Store,
    private readonly options: EngineOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 30_000;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.clock = options.clock ?? store.clock;
    this.random = options.random ?? Math.random;
  }

  /**
   * Records a new execution of `spec` and answers it with its first ready runs. `origin`
   * (default `direct`) is where the spec came from: pass a registered version's own. `code` is
   * the code id of the builder functions it runs (null: none), recorded on its function runs.
   */
  async start(
    spec: WorkflowSpec,
    input: Record<string, unknown>,
    options: { id?: string; baseDir?: string; origin?: Origin; code?: string | null } = {},
  ): Promise<{ execution: ExecutionRecord; ready: TaskRunRecord[] }> {
    const now = this.clock.now();
    const resolvedInput = resolveInputs(spec, input);
    const id = options.id ?? newId();
    let execution!: ExecutionRecord;
    const result = await this.step(now, async (t) => {
      execution = await recordExecution(t, spec, resolvedInput, { ...options, id });
    });
    return { execution, ready: result.ready };
  }

  /** Registers a workflow definition (see `registerWorkflow`). */
  registerWorkflow(
    spec: WorkflowSpec,
    origin: Origin = Origin.direct,
    code: string | null = null,
  ): Promise<WorkflowRecord> {
    return registerWorkflow(this.store, spec, this.clock.now(), origin, code);
  }

  /** The registered workflow `name` (its highest version unless `version` is given). */
  getWorkflow(name: string, version?: number): Promise<WorkflowRecord> {
    return getWorkflow(this.store, name, version);
  }

  /** Claims up to `limit` ready runs under a lease of `leaseMs`. */
  async claim(options: ClaimOptions): Promise<TaskRunRecord[]> {
    const now = this.clock.now();
    const result = await this.step(now, async (t) => {
      await this.claimInto(t, options);
    });
    return result.claimed;
  }

  /**
   * Applies a batch of outcomes in one transaction. Each is a compare-and-set on the run's
   * status, attempt and traversal: stale and duplicate reports change nothing. The batch costs
   * a few store calls whatever its size (see outcomes.ts). With `claim`, the same transaction
   * also claims ready runs for the caller (a chain advances with about one commit per step).
   */
  async settle(outcomes: readonly Outcome[], claim?: ClaimOptions): Promise<StepResult> {
    const now = this.clock.now();
    return this.step(now, async (t) => {
      const applied = await applyOutcomes(t, outcomes);
      t.appliedOutcomes.push(...applied);
      t.applied += applied.filter(Boolean).length;
      if (claim) await this.claimInto(t, claim);
    });
  }

  complete(run: RunRef, output: unknown, claim?: ClaimOptions): Promise<StepResult> {
    return this.settle([{ run, status: "succeeded", output }], claim);
  }

  fail(run: RunRef, error: TaskError, claim?: ClaimOptions): Promise<StepResult> {
    return this.settle([{ run, status: "failed", error }], claim);
  }

  /** A claimed run whose `when` was false. */
  skip(run: RunRef): Promise<StepResult> {
    return this.settle([{ run, status: "skipped" }]);
  }

  /**
   * A claimed delegate run starts waiting for its callback. Answers the completion token
   * (128 random bits; the store keeps only its hash), or null when the run was no longer ours.
   */
  async wait(run: RunRef, versionKey?: string): Promise<{ token: string; run: TaskRunRecord } | null> {
    const now = this.clock.now();
    const token = newToken();
    let waiting: TaskRunRecord | null = null;
    await this.step(now, async (t) => {
      const current = await t.tx.getRun(run.executionId, run.seq);
      waiting = await t.tx.updateRun(
        { ...attemptGuard(run), status: ["running"] },
        {
          status: "waiting",
          tokenHash: hashToken(token),
          deadline: current?.timeout != null ? now + current.timeout : null,
          leaseOwner: null,
          leaseExpiresAt: null,
          ...(versionKey !== undefined ? { versionKey } : {}),
        },
      );
      if (waiting) t.runEvent(EventType.taskWaiting, waiting);
    });
    return waiting ? { token, run: waiting } : null;
  }

  /**
   * A claimed `workflow` run starts its sub-workflow: in one transaction the run moves to waiting
   * (its deadline the task's timeout) and the child execution is inserted, its id derived from
   * the attempt. Answers the child (the same one when this attempt already started it: a start
   * retried after a lost COMMIT), or null when the run is no longer this attempt's. An unregistered
   * workflow, an input it refuses or a child past `maxDepth` throws a non-retryable TaskFailure.
   *
   * @example
   * const child = await engine.startChild(run, { workflow: "render", input: { page: 1 } });
   */
  async startChild(run: RunRef, request: ChildRequest): Promise<ExecutionRecord | null> {
    let child: ExecutionRecord | null = null;
    await this.step(this.clock.now(), async (t) => {
      child = await startChild(t, run, request, this.maxDepth);
    });
    return child;
  }

  /** Finishes the delegate holding `token` with `output` (a third party's callback). */
  completeByToken(token: string, output: unknown): Promise<CallbackResult> {
    return this.callback(token, { status: "succeeded", output });
  }

  /** Fails the delegate holding `token`; the retry policy applies. */
  failByToken(token: string, error: TaskError): Promise<CallbackResult> {
    return this.callback(token, { status: "failed", error });
  }

  /** Operators with access to the store may address a waiting task by name instead of token. */
  async settleWaiting(
    executionId: string,
    task: string,
    outcome: { status: "succeeded"; output: unknown } | { status: "failed"; error: TaskError },
  ): Promise<StepResult | null> {
    const execution = await this.getExecution(executionId);
    const runs = await this.store.listRuns(executionId);
    const run = runs.find(
      (candidate) =>
        candidate.task === task &&
        candidate.kind === RunKind.task &&
        candidate.traversal === execution.traversal,
    );
    if (!run || run.status !== "waiting") return null;
    const result = await this.settle([{ run, ...outcome }]);
    return result.applied > 0 ? result : null;
  }

  private async callback(
    token: string,
    outcome: { status: "succeeded"; output: unknown } | { status: "failed"; error: TaskError },
  ): Promise<CallbackResult> {
    const hash = hashToken(token);
    const run = await this.store.transaction(async (tx) => tx.findRunByToken(hash));
    if (!run) return { status: "not_found" };
    if (run.status === "cancelled") {
      const execution = await this.store.getExecution(run.executionId);
      if (execution && execution.traversal !== run.traversal) return { status: "superseded", run };
    }
    if (run.status !== "waiting") {
      const same =
        outcome.status === run.status &&
        (outcome.status === "succeeded"
          ? sameJson(outcome.output, run.output)
          : sameJson(outcome.error.message, run.error?.message));
      return same ? { status: "duplicate", run } : { status: "conflict", run };
    }
    const step = await this.settle([{ run, ...outcome }]);
    if (step.applied === 0) return this.callback(token, outcome);
    return { status: "applied", run, step };
  }

  /** Renews the leases of runs a worker still holds; answers the refs it lost. */
  async heartbeat(runs: readonly RunRef[]): Promise<RunRef[]> {
    const now = this.clock.now();
    // What a transaction collects lives inside it: a store may run it again after a conflict.
    return this.store.transaction(async (tx) => {
      const lost = new Set<RunRef>();
      // Locked in a stable order; answered in the caller's.
      for (const run of [...runs].sort(compareRuns)) {
        const renewed = await tx.updateRun(
          { ...attemptGuard(run), status: ["running"] },
          { leaseExpiresAt: now + this.leaseMs },
        );
        if (!renewed) lost.add(run);
      }
      return runs.filter((run) => lost.has(run));
    });
  }

  /**
   * Converges a running or ended execution on another definition (and input, else its own as
   * far as `spec` declares it): a new traversal, set by compare-and-set on the current one, in
   * which tasks whose definition and inputs match a live version reuse it and the others run;
   * then the versions it does not use are undone (see traversals.ts). Answers the execution as
   * it now is and its first ready runs.
   */
  update(
    executionId: string,
    spec: WorkflowSpec,
    options: TraversalOptions & {
      input?: Record<string, unknown>;
      rollbackOnFailure?: boolean;
      origin?: Origin;
    } = {},
  ): Promise<{ execution: ExecutionRecord; ready: TaskRunRecord[] }> {
    return this.traverse(executionId, {
      cause: "update",
      spec,
      input: options.input,
      expectTraversal: options.expectTraversal,
      rollbackOnFailure: options.rollbackOnFailure,
      id: options.id,
      origin: options.origin,
    });
  }

  /**
   * Converges back on the definition and input of the last earlier traversal that succeeded
   * (on nothing, like `undo`, when none did).
   */
  rollback(
    executionId: string,
    options: TraversalOptions = {},
  ): Promise<{ execution: ExecutionRecord; ready: TaskRunRecord[] }> {
    return this.traverse(executionId, { cause: "rollback", spec: null, ...options });
  }

  /** Converges on nothing: the undo of every live version runs; the execution ends `undone`. */
  undo(
    executionId: string,
    options: TraversalOptions = {},
  ): Promise<{ execution: ExecutionRecord; ready: TaskRunRecord[] }> {
    return this.traverse(executionId, { cause: "undo", spec: null, ...options });
  }

  private async traverse(
    executionId: string,
    request: TraversalRequest,
  ): Promise<{ execution: ExecutionRecord; ready: TaskRunRecord[] }> {
    const now = this.clock.now();
    let execution: ExecutionRecord | undefined;
    const result = await this.step(now, async (t) => {
      const current = await t.tx.getExecution(executionId);
      if (!current) throw new ExecutionNotFoundError(executionId);
      if (request.spec !== null && request.spec.name !== current.workflow) {
        throw new InvalidInputError(
          `execution ${executionId} runs workflow "${current.workflow}": it cannot be updated to "${request.spec.name}"`,
        );
      }
      const target =
        request.cause === "rollback"
          ? rollbackTarget(await t.tx.listTraversals(executionId), current)
          : { spec: request.spec, input: request.input };
      execution = await startTraversal(t, current, { ...request, ...target });
    });
    return { execution: execution!, ready: result.ready };
  }

  /**
   * Cancels an execution: every open run is cancelled and its late results are discarded.
   * With `undo`, the undos of succeeded tasks run first (the execution is `compensating`).
   */
  async cancel(executionId: string, options: { undo?: boolean } = {}): Promise<StepResult> {
    const now = this.clock.now();
    return this.step(now, async (t) => {
      const execution = await t.tx.getExecution(executionId);
      if (!execution) throw new ExecutionNotFoundError(executionId);
      if (isTerminalExecution(execution.status)) return;
      const error = { type: "Cancelled", message: "the execution was cancelled" };
      t.undoAbandoned = options.undo ?? false;
      if (options.undo && execution.base > 0) {
        // An updated execution's versions span traversals: undoing them is an undo traversal.
        await startTraversal(t, execution, { cause: "undo", spec: null });
        return;
      }
      if (execution.status === "compensating") {
        // Cancelling while undos run stops the undos too.
        await compensate(t, execution, "cancelled", error, false);
        await endExecution(t, execution, "cancelled");
        return;
      }
      await compensate(t, execution, "cancelled", error, options.undo ?? false);
    });
  }

  /**
   * The watchdog, safe to run in every process at once (each step is a compare-and-set): fails
   * attempts whose lease expired (the worker died) or whose delegate deadline passed, and fails
   * executions whose workflow timeout passed, running their undos.
   */
  async reap(now = this.clock.now(), limit = 500): Promise<StepResult> {
    return this.step(now, async (t) => {
      const expired = await t.tx.findExpiredRuns(now, limit);
      const subflows = await subflowRuns(t, expired);
      const failures = expired.map((run): RunFailure => {
        const lease = run.status === "running";
        const error = lease
          ? timeoutError(
              `the lease of attempt ${run.attempt} expired: its worker stopped or died`,
              "LeaseExpired",
            )
          : subflows.has(run)
            ? timeoutError(`the sub-workflow did not end within the task's timeout of ${run.timeout ?? 0} ms`)
            : timeoutError(`the delegate's deadline passed after ${run.timeout ?? 0} ms without a callback`);
        return {
          run,
          error,
          reapGuard: lease ? { leaseExpiresBefore: now } : { deadlineBefore: now },
          // A lost lease is an interruption; a delegate's deadline is the task's own failure.
          interrupted: lease,
          event: lease ? { type: EventType.leaseExpired, worker: run.leaseOwner ?? undefined } : undefined,
        };
      });
      for (const run of failures.length > 0 ? await failRuns(t, failures) : []) if (run) t.reaped += 1;
      for (const execution of await t.tx.findOverdueExecutions(now, limit)) {
        const { spec } = await this.specs.get(t.tx, execution.id, execution.traversal);
        await traversalFailed(t, execution, {
          type: "Timeout",
          message: `the workflow timed out after ${spec.timeout ?? 0} ms`,
        });
      }
    });
  }

  /**
   * Fails, as if their lease had expired, the running attempts of an execution whose owners
   * `isGone` says are dead (`weft resume` on the host where the process died need not wait for
   * the leases to run out). Answers how many were reclaimed.
   */
  async abandon(executionId: string, isGone: (owner: string) => boolean): Promise<number> {
    const now = this.clock.now();
    const result = await this.step(now, async (t) => {
      const failures: RunFailure[] = [];
      for (const run of await t.tx.listRuns(executionId)) {
        if (run.status !== "running" || !run.leaseOwner || !isGone(run.leaseOwner)) continue;
        const error = timeoutError(
          `attempt ${run.attempt} was interrupted: its process (${run.leaseOwner}) died`,
          "LeaseExpired",
        );
        const event = { type: EventType.leaseExpired, worker: run.leaseOwner };
        failures.push({ run, error, reapGuard: {}, interrupted: true, event });
      }
      for (const run of failures.length > 0 ? await failRuns(t, failures) : []) if (run) t.reaped += 1;
    });
    return result.reaped;
  }

  /**
   * Runs a failed task again with a fresh set of attempts, and the execution with it (an
   * operator's action). Refused with StateConflictError when the states do not allow it.
   */
  async retryTask(executionId: string, task: string): Promise<StepResult> {
    return this.step(this.clock.now(), async (t) => {
      const execution = await t.tx.getExecution(executionId);
      if (!execution) throw new ExecutionNotFoundError(executionId);
      await reopenTask(t, execution, task);
    });
  }

  /**
   * A third party working long on a delegate pushes its deadline out: to now + `extendMs`, or
   * now + the task's timeout. Answers false when no waiting delegate holds the token.
   */
  async heartbeatByToken(token: string, extendMs?: number): Promise<TaskRunRecord | null> {
    const now = this.clock.now();
    return this.store.transaction(async (tx) => {
      const run = await tx.findRunByToken(hashToken(token));
      if (!run || run.status !== "waiting") return null;
      const extend = extendMs ?? run.timeout;
      if (extend === null) return run;
      return tx.updateRun({ ...attemptGuard(run), status: ["waiting"] }, { deadline: now + extend });
    });
  }

  async getExecution(id: string): Promise<ExecutionRecord> {
    const execution = await this.store.getExecution(id);
    if (!execution) throw new ExecutionNotFoundError(id);
    return execution;
  }

  private async claimInto(t: Transition, options: ClaimOptions): Promise<void> {
    // Several executions: claimed one after the other, each up to what the others left.
    const scopes: (string | undefined)[] =
      options.executionIds === undefined
        ? [options.executionId]
        : [
            ...new Set([
              ...(options.executionId === undefined ? [] : [options.executionId]),
              ...options.executionIds,
            ]),
          ];
    let taken = 0;
    for (const executionId of scopes) {
      const limit = options.limit - taken;
      if (limit <= 0) break;
      const claimed = await t.tx.claimRuns({
        now: t.now,
        owner: options.owner,
        // From now, not from the transaction's start: a long transaction must not shorten the lease
        // (claimed at the end of one that settled 10,000 successors, it could expire at once).
        leaseExpiresAt: Math.max(t.now, this.clock.now()) + this.leaseMs,
        limit,
        executionId,
        codes: options.codes,
      });
      taken += claimed.length;
      t.claimedHere(claimed);
      for (const run of claimed) t.runEvent(EventType.taskStarted, run, { worker: options.owner });
    }
  }

  /** Runs `fn` in one transaction and publishes its events once it committed. */
  private async step(now: number, fn: (t: Transition) => Promise<void>): Promise<StepResult> {
    const result = await this.store.transaction(async (tx: StoreTx) => {
      const t = new Transition(tx, now, this.specs, this.random);
      await fn(t);
      await settleSubflows(t);
      await t.flushFailures();
      if (t.events.length > 0) await tx.appendEvents(t.events);
      return t;
    });
    if (result.events.length > 0) this.options.onEvents?.(result.events);
    const claimedKeys = new Set(result.claimed.map((run) => `${run.executionId}/${run.seq}`));
    return {
      applied: result.applied,
      appliedOutcomes: result.appliedOutcomes,
      ready: result.ready.filter((run) => !claimedKeys.has(`${run.executionId}/${run.seq}`)),
      claimed: result.claimed,
      ended: [...result.ended],
      reaped: result.reaped,
    };
  }
}

/** The waiting runs among `runs` that wait for a sub-workflow rather than a callback. */
async function subflowRuns(t: Transition, runs: readonly TaskRunRecord[]): Promise<Set<TaskRunRecord>> {
  const found = new Set<TaskRunRecord>();
  for (const run of runs) {
    if (run.status !== "waiting") continue;
    const { spec } = await t.specs.get(t.tx, run.executionId, run.traversal);
    if (spec.tasks[run.task]?.action === "workflow") found.add(run);
  }
  return found;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}
