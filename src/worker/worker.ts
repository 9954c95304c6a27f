/**
 * A worker: claims ready runs under a lease, runs up to `concurrency` at once, renews its leases
 * by heartbeat, reports outcomes in batches (one transaction settles every outcome that finished
 * meanwhile and claims the next runs), and reaps expired leases of dead workers. It keeps no
 * state that matters: killed at any moment, its leases expire and another worker carries on.
 */
import type { ClaimOptions, Engine, Outcome, RunRef, StepResult } from "../engine/engine.js";
import { runLayout, type RunLayout } from "../engine/plan.js";
import { RunKind, type Store, type TaskRunRecord } from "../engine/store.js";
import { isTerminalExecution } from "../engine/states.js";
import { isStoreUnavailable, type TaskError } from "../shared/errors.js";
import type { Logger } from "../shared/logger.js";
import type { RunPolicy } from "../actions/run-policy.js";
import { setLongTimeout, type LongTimeout } from "../shared/long-timeout.js";
import { AttemptAbort } from "./attempt-abort.js";
import { pause, StoreOutage } from "./store-outage.js";
import {
  AttemptTimeoutError,
  abandonedError,
  runAttempt,
  type LoadedWorkflow,
  type TaskResult,
} from "./task-runner.js";

export interface WorkerOptions {
  engine: Engine;
  store: Store;
  /** This worker's name in leases and history. */
  owner: string;
  /** Runs at once. Default 8. */
  concurrency?: number;
  /** Only this execution's runs (the sync runner). */
  executionId?: string;
  /**
   * With `executionId`: also the runs of its sub-workflows, those found when the worker starts
   * (a resumed execution) and those its runs start, so `weft run` carries a whole tree alone.
   */
  followChildren?: boolean;
  /** Code ids of the builder functions `loadWorkflow` supplies: only their function runs are claimed. */
  codes?: readonly string[];
  /**
   * The workflow behind one traversal of an execution: its spec, input, builder functions and
   * base directory (see engine/traversals.ts `readTraversal`).
   */
  loadWorkflow: (executionId: string, traversal: string) => Promise<LoadedWorkflow>;
  logger: Logger;
  /** How often an idle worker looks for work written by other processes. Default 250 ms. */
  pollMs?: number;
  /** How often the worker reaps expired leases and deadlines. Default 1000 ms. */
  reapEveryMs?: number;
  /** The base of delegate callback URLs (`--public-url`). */
  publicUrl?: string;
  /** Actions allowed to definitions from HTTP, and where `http` may connect. Default: DEFAULT_RUN_POLICY. */
  policy?: RunPolicy;
  /** Called after every transaction that ended executions. */
  onEnded?: (executionIds: readonly string[]) => void;
}

interface InFlight {
  run: TaskRunRecord;
  abort: AttemptAbort;
  timer?: LongTimeout;
  /** The lease was lost: the outcome must not be reported. */
  lost: boolean;
}

function key(run: RunRef): string {
  return `${run.executionId}/${run.seq}`;
}

export class Worker {
  private readonly concurrency: number;
  private readonly inflight = new Map<string, InFlight>();
  private outcomes: Outcome[] = [];
  /** By execution, then traversal. */
  private readonly workflows = new Map<
    string,
    Map<string, Promise<LoadedWorkflow & { layout: RunLayout }>>
  >();
  /**
   * Results of runs that ended in this process, by execution, traversal and task, so successors
   * need not read them back.
   */
  private readonly results = new Map<string, Map<string, Map<string, TaskResult>>>();
  private wakeUp: (() => void) | null = null;
  /** A wake-up that came while the loop was busy: the next idle() returns at once. */
  private woken = false;
  private stopping = false;
  private loop: Promise<void> | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private lastReap = 0;
  /** Epoch ms after which a stopping worker stops waiting for the store to come back. */
  private stopDeadline = Infinity;
  /** The store's health as this worker sees it: logs outages once, paces the retries. */
  readonly outage: StoreOutage;
  /** With `followChildren`: the open sub-workflows of `executionId` whose runs it claims too. */
  private readonly children = new Set<string>();

  constructor(private readonly options: WorkerOptions) {
    this.concurrency = options.concurrency ?? 8;
    this.outage = new StoreOutage(options.logger, `worker ${options.owner}`);
  }

  /** The executions whose runs this worker claims besides `executionId`, if it follows children. */
  private scope(): readonly string[] | undefined {
    return this.children.size > 0 ? [...this.children] : undefined;
  }

  /** The open sub-workflows below `executionId` (a resumed tree), breadth first. */
  private async findChildren(executionId: string): Promise<void> {
    const queue = [executionId];
    while (queue.length > 0) {
      const id = queue.shift()!;
      for (const child of await this.options.store.listExecutions({ parentId: id })) {
        if (isTerminalExecution(child.status)) continue;
        this.children.add(child.id);
        queue.push(child.id);
      }
    }
  }

  start(): void {
    if (this.loop) return;
    // At most an hour apart: a lease of months would otherwise overflow Node's interval (2^31-1 ms).
    const beat = Math.min(3_600_000, Math.max(50, Math.floor(this.options.engine.leaseMs / 3)));
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), beat);
    this.heartbeatTimer.unref();
    // drive() handles every error of an iteration itself; this only reports a bug in it.
    this.loop = this.drive().catch((error: unknown) => {
      this.options.logger.error(`worker ${this.options.owner} stopped: ${describe(error)}`);
    });
  }

  /** Something may be claimable (a run was started or completed elsewhere in this process). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Stops claiming, waits up to `graceMs` for running attempts, then abandons the rest (they retry elsewhere). */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    const deadline = Date.now() + graceMs;
    this.stopDeadline = deadline;
    while (this.inflight.size > 0 && Date.now() < deadline) await sleep(Math.min(50, deadline - Date.now()));
    for (const flight of this.inflight.values()) {
      // Released, not failed: the attempt does not count against retry.attempts.
      this.outcomes.push({
        run: flight.run,
        status: "interrupted",
        error: abandonedError(`worker ${this.options.owner} shut down`),
      });
      flight.lost = true;
      flight.abort.abort(new Error("the worker shut down"));
    }
    // Released: the loop ends once it settled them, even if a body ignores its abort.
    this.inflight.clear();
    this.wake();
    await this.loop?.catch(() => undefined);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
  }

  private async drive(): Promise<void> {
    let claimable = true;
    const root = this.options.executionId;
    if (this.options.followChildren && root !== undefined)
      await this.outage.retry(
        () => this.findChildren(root),
        () => this.stopping,
      );
    // Stopping, it claims nothing but carries on until its running attempts ended or were released.
    while (!this.stopping || this.outcomes.length > 0 || this.inflight.size > 0) {
      let outcomes = this.outcomes;
      this.outcomes = [];
      const free = this.stopping ? 0 : this.concurrency - this.inflight.size;
      const claim: ClaimOptions | undefined =
        free > 0
          ? {
              owner: this.options.owner,
              limit: free,
              executionId: this.options.executionId,
              executionIds: this.scope(),
              codes: this.options.codes,
            }
          : undefined;
      try {
        if (outcomes.length > 0 || (claim && claimable)) {
          const step: StepResult =
            outcomes.length > 0
              ? await this.settle(outcomes, claim)
              : {
                  applied: 0,
                  appliedOutcomes: [],
                  ready: [],
                  claimed: await this.options.engine.claim(claim!),
                  ended: [],
                  reaped: 0,
                };
          this.outage.recovered();
          this.remember(outcomes, step.appliedOutcomes);
          // Committed: a failure later in this iteration (reaping) must not report them again.
          outcomes = [];
          for (const run of step.claimed) this.dispatch(run);
          if (step.ended.length > 0) this.ended(step.ended);
          // A claim that got fewer runs than it asked for emptied the queue for now; without a
          // claim (every slot busy), what was just settled may have made runs ready.
          claimable = claim ? step.claimed.length >= claim.limit || step.ready.length > 0 : true;
          // A busy worker reaps too: otherwise a fleet at full load would never notice a dead peer.
          if (await this.reapIfDue()) claimable = true;
          continue;
        }
        if (this.stopping && this.inflight.size === 0) break;
        await this.idle();
        this.outage.recovered();
        claimable = true;
      } catch (error) {
        // Nothing of this iteration committed: its outcomes wait for the next one.
        this.outcomes = outcomes.concat(this.outcomes);
        if (isStoreUnavailable(error)) {
          if (this.stopping && Date.now() >= this.stopDeadline) {
            this.giveUp(error.message);
            break;
          }
          await this.pauseUnlessWoken(this.outage.failed(error));
        } else {
          // A bug or a row the store refuses outside any one outcome (settle isolates those):
          // say so and try again later rather than stop serving every other execution.
          this.options.logger.error(`worker ${this.options.owner}: ${describe(error)}; retrying`);
          await pause(1000);
        }
        claimable = true;
      }
    }
  }

  /**
   * Settles a batch; when the batch fails for another reason than an outage (an output the store
   * cannot hold, a value out of range), settles its outcomes one by one so that only the one at
   * fault is affected: it becomes a non-retryable failure of its task, with the reason.
   */
  private async settle(outcomes: Outcome[], claim: ClaimOptions | undefined): Promise<StepResult> {
    try {
      return await this.options.engine.settle(outcomes, claim);
    } catch (error) {
      if (isStoreUnavailable(error)) throw error;
      if (outcomes.length === 1) return this.settleRefused(outcomes[0]!, error);
    }
    const merged: StepResult = {
      applied: 0,
      appliedOutcomes: [],
      ready: [],
      claimed: [],
      ended: [],
      reaped: 0,
    };
    for (const outcome of outcomes) {
      let step: StepResult;
      try {
        step = await this.options.engine.settle([outcome]);
      } catch (error) {
        if (isStoreUnavailable(error)) throw error;
        step = await this.settleRefused(outcome, error);
      }
      merged.applied += step.applied;
      merged.appliedOutcomes.push(...step.appliedOutcomes);
      merged.ready.push(...step.ready);
      merged.ended.push(...step.ended);
    }
    if (claim) merged.claimed = await this.options.engine.claim(claim);
    return merged;
  }

  /** The one outcome the store refused: recorded as its task's failure, or dropped with a log line. */
  private async settleRefused(outcome: Outcome, refusal: unknown): Promise<StepResult> {
    const error: TaskError = {
      type: "OutcomeRefused",
      message: `the outcome of attempt ${outcome.run.attempt} could not be recorded: ${describe(refusal)}`,
      retryable: false,
    };
    this.options.logger.error(
      `worker ${this.options.owner}: execution ${outcome.run.executionId}, run ${outcome.run.seq}: ${error.message}`,
    );
    try {
      const step = await this.options.engine.settle([{ run: outcome.run, status: "failed", error }]);
      // The original outcome was not applied (its failure stands in for it).
      return { ...step, appliedOutcomes: [false] };
    } catch (failure) {
      if (isStoreUnavailable(failure)) throw failure;
      this.options.logger.error(
        `worker ${this.options.owner}: cannot record that failure either (${describe(failure)}); ` +
          "the run's lease will expire and the watchdog decides",
      );
      return { applied: 0, appliedOutcomes: [false], ready: [], claimed: [], ended: [], reaped: 0 };
    }
  }

  /** A stopping worker whose store stayed down past its grace: what it could not record is said, then left. */
  private giveUp(reason: string): void {
    if (this.outcomes.length > 0)
      this.options.logger.error(
        `worker ${this.options.owner}: stopping with ${this.outcomes.length} outcome(s) not recorded (${reason}); ` +
          "their leases will expire and the tasks run again elsewhere",
      );
    this.outcomes = [];
  }

  /** Waits `ms`, or less when woken (new work here; stop() waking a worker that waits out an outage). */
  private pauseUnlessWoken(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = null;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
    });
  }

  /**
   * The watchdog's share of this worker: every `reapEveryMs`, whether busy or idle, it fails
   * expired leases and deadlines (a compare-and-set: workers reaping at once do no harm).
   * Answers true when it changed something.
   */
  private async reapIfDue(): Promise<boolean> {
    const now = Date.now();
    if (now - this.lastReap < (this.options.reapEveryMs ?? 1000)) return false;
    this.lastReap = now;
    const reaped = await this.options.engine.reap();
    if (reaped.ended.length > 0) this.ended(reaped.ended);
    return reaped.reaped > 0 || reaped.ready.length > 0 || reaped.ended.length > 0;
  }

  private async idle(): Promise<void> {
    const reapEvery = this.options.reapEveryMs ?? 1000;
    if (await this.reapIfDue()) return;
    let delay = Math.min(this.options.pollMs ?? 250, reapEvery);
    // With every slot busy only our own runs can wake us: no need to look at the store.
    if (this.inflight.size < this.concurrency) {
      // Only runs it may claim: one that needs code it lacks would have it poll without pause.
      const next = await this.nextRunAfter();
      // runAfter is in the store's time, which this host's clock may not agree with.
      if (next !== null) delay = Math.max(0, Math.min(delay, next - this.options.engine.clock.now()));
    }
    if (delay === 0 || this.woken) {
      this.woken = false;
      return;
    }
    await this.pauseUnlessWoken(delay);
    this.woken = false;
  }

  /** The earliest runAfter this worker could claim: of its execution and the children it follows. */
  private async nextRunAfter(): Promise<number | null> {
    const { store, executionId, codes } = this.options;
    let next = await store.nextRunAfter(executionId, codes);
    for (const child of this.children) {
      const candidate = await store.nextRunAfter(child, codes);
      if (candidate !== null && (next === null || candidate < next)) next = candidate;
    }
    return next;
  }

  private ended(executionIds: readonly string[]): void {
    for (const id of executionIds) {
      this.workflows.delete(id);
      this.results.delete(id);
      this.children.delete(id);
    }
    this.options.onEnded?.(executionIds);
  }

  /** Caches the results the engine applied (a stale report must not stand in for the real one). */
  private remember(outcomes: readonly Outcome[], applied: readonly boolean[]): void {
    outcomes.forEach((outcome, i) => {
      if (!applied[i] || (outcome.status !== "succeeded" && outcome.status !== "skipped")) return;
      const run = outcome.run as TaskRunRecord;
      // No expression reads an instance (`NAME[i]`) by name; its forEach task's output is read from the store.
      if (run.kind === RunKind.instance) return;
      let byTraversal = this.results.get(run.executionId);
      if (!byTraversal) {
        byTraversal = new Map();
        this.results.set(run.executionId, byTraversal);
      }
      let results = byTraversal.get(run.traversal);
      if (!results) {
        results = new Map();
        byTraversal.set(run.traversal, results);
      }
      results.set(run.task, {
        status: outcome.status,
        output: outcome.status === "succeeded" ? outcome.output : null,
      });
    });
  }

  private dispatch(run: TaskRunRecord): void {
    const flight: InFlight = { run, abort: new AttemptAbort(), lost: false };
    this.inflight.set(key(run), flight);
    if (run.timeout !== null && run.timeout > 0) {
      const timeout = run.timeout;
      flight.timer = setLongTimeout(() => flight.abort.abort(new AttemptTimeoutError(timeout)), timeout);
    }
    void this.execute(flight);
  }

  private async execute(flight: InFlight): Promise<void> {
    const { run } = flight;
    let outcome: Outcome | null;
    // Reads the attempt needs wait out an outage rather than fail it; not past its lease, though.
    const giveUp = () => flight.lost || flight.abort.aborted;
    try {
      // An undo works in the traversal of the version it undoes (a cleanup undoes earlier ones).
      const traversal = await this.outage.retry(() => this.contextOf(run), giveUp);
      const workflow = await this.outage.retry(() => this.workflow(run.executionId, traversal), giveUp);
      outcome = await runAttempt(
        {
          engine: this.options.engine,
          logger: this.options.logger,
          publicUrl: this.options.publicUrl,
          policy: this.options.policy,
          throughOutage: (call) => this.outage.retry(call, giveUp),
          onChildStarted: (childId) => {
            if (this.options.followChildren && this.options.executionId !== undefined)
              this.children.add(childId);
          },
          readResults: (r, names) =>
            this.outage.retry(() => this.readResults(r, traversal, names, workflow.layout), giveUp),
        },
        run,
        workflow,
        flight.abort,
      );
    } catch (error) {
      outcome = {
        run,
        status: "failed",
        error: {
          type: "WorkerError",
          message: error instanceof Error ? error.message : String(error),
          retryable: true,
        },
      };
    }
    flight.timer?.clear();
    this.inflight.delete(key(run));
    if (outcome && !flight.lost) this.outcomes.push(outcome);
    this.wake();
  }

  /** The traversal whose definition and results a run works with. */
  private async contextOf(run: TaskRunRecord): Promise<string> {
    if (run.kind !== "undo" || run.target === null) return run.traversal;
    const [version] = await this.options.store.getRuns(run.executionId, [run.target]);
    return version?.traversal ?? run.traversal;
  }

  private workflow(executionId: string, traversal: string): Promise<LoadedWorkflow & { layout: RunLayout }> {
    let byTraversal = this.workflows.get(executionId);
    if (!byTraversal) {
      byTraversal = new Map();
      this.workflows.set(executionId, byTraversal);
    }
    let loaded = byTraversal.get(traversal);
    if (!loaded) {
      loaded = this.options
        .loadWorkflow(executionId, traversal)
        .then((workflow) => ({ ...workflow, layout: runLayout(workflow.spec, workflow.base ?? 0) }));
      loaded.catch(() => byTraversal.delete(traversal));
      byTraversal.set(traversal, loaded);
    }
    return loaded;
  }

  private async readResults(
    run: TaskRunRecord,
    traversal: string,
    names: readonly string[],
    layout: RunLayout,
  ): Promise<Map<string, TaskResult>> {
    const found = new Map<string, TaskResult>();
    const cached = this.results.get(run.executionId)?.get(traversal);
    const missing: number[] = [];
    for (const name of names) {
      const result = cached?.get(name);
      if (result) found.set(name, result);
      else {
        const seq = layout.seqOf.get(name);
        if (seq !== undefined) missing.push(seq);
      }
    }
    if (missing.length > 0) {
      for (const result of await this.options.store.getRuns(run.executionId, missing)) {
        found.set(result.task, { status: result.status, output: result.output });
      }
    }
    return found;
  }

  private async heartbeat(): Promise<void> {
    const held = [...this.inflight.values()].filter((flight) => !flight.lost);
    if (held.length === 0) return;
    try {
      const lost = await this.options.engine.heartbeat(held.map((flight) => flight.run));
      this.outage.recovered();
      for (const ref of lost) {
        const flight = this.inflight.get(key(ref));
        if (!flight) continue;
        flight.lost = true;
        flight.abort.abort(new Error("the lease was lost: the run was reclaimed or its execution ended"));
      }
    } catch (error) {
      // The next beat tries again; a lease that expires meanwhile is the watchdog's to decide.
      if (isStoreUnavailable(error)) this.outage.failed(error);
      else this.options.logger.warn(`heartbeat failed: ${describe(error)}`);
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
