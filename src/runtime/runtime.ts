/**
 * The sync runner on top of the passive engine (the Mistral seed's "sync engine built on the
 * lazy one"): `run` starts an execution and works on it in this process until it ends. Runs the
 * engine answers as ready are dispatched at once; the store is only polled while nothing here
 * can move (retries waiting for their time, delegates waiting for a callback from elsewhere).
 */
import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";
import type { WorkflowSpec } from "../definition/spec.js";
import { Engine, type EngineOptions } from "../engine/engine.js";
import type { ExecutionEvent, ExecutionRecord, Store } from "../engine/store.js";
import { isTerminalExecution } from "../engine/states.js";
import { readTraversal } from "../engine/traversals.js";
import { ExecutionNotFoundError } from "../shared/errors.js";
import { newId } from "../shared/ids.js";
import { silentLogger, type Logger } from "../shared/logger.js";
import type { TaskFunction } from "../worker/task-runner.js";
import { StoreOutage } from "../worker/store-outage.js";
import { Worker } from "../worker/worker.js";
import { openStore } from "./open-store.js";
import { compileRunPolicy } from "../actions/run-policy.js";
import { codeId, prepareWorkflow, type PreparedWorkflow, type Runnable } from "./code-id.js";
import { CodeMismatchError } from "./code-errors.js";

export type { Runnable };

export interface RuntimeOptions {
  /** A Store, or a URL: `memory:` (default), `sqlite:PATH`. */
  store?: Store | string;
  /** Task runs at once. Default 8. */
  concurrency?: number;
  logger?: Logger;
  /** Where relative `js` modules and `shell` cwd resolve. Default: the working directory. */
  baseDir?: string;
  /** Default 30 s. */
  leaseMs?: number;
  /** Every event, after its transaction committed. */
  onEvents?: EngineOptions["onEvents"];
  /** How often a waiting runner looks at the store for other processes' writes. Default 250 ms. */
  pollMs?: number;
  /** Where third parties reach the HTTP API: the base of delegate callback URLs. Default: $WEFT_PUBLIC_URL. */
  publicUrl?: string;
  /** Actions definitions registered over HTTP may run here (`*`: all). Default: $WEFT_ALLOW_ACTIONS, else all but shell and js. */
  allowActions?: readonly string[];
  /** Hosts `http` tasks may reach (see egress-policy.ts). Default: $WEFT_ALLOW_HOSTS, else all but link-local and metadata. */
  allowHosts?: readonly string[];
  /** How deep sub-workflows may nest (`action: workflow`). Default 10. */
  maxDepth?: number;
}

export interface RunOptions {
  /** Resolves as soon as the execution exists (before it runs): `weft run` prints its id. */
  onStarted?: (execution: ExecutionRecord) => void;
  baseDir?: string;
  id?: string;
}

/** Options of `runtime.start`. */
export interface StartOptions {
  baseDir?: string;
  id?: string;
}

/** Options of `runtime.update`, `rollback` and `undo`. */
export interface TraversalRunOptions {
  /** The traversal the caller saw (default: the current one when the call starts). */
  expectTraversal?: string;
  /** Only record the new traversal for workers; do not run it here. */
  detach?: boolean;
  baseDir?: string;
  /** As soon as the traversal is recorded, before it runs. */
  onStarted?: (execution: ExecutionRecord) => void;
}

/** Options of `runtime.startWorker`. */
export interface WorkerStartOptions {
  concurrency?: number;
  /** Where relative `js` modules resolve. */
  workflowsDir?: string;
  name?: string;
  /**
   * Builder workflows whose functions this worker runs: it claims their function runs (of the
   * exact versions given) besides every run that needs no code. Default: none.
   */
  workflows?: readonly Runnable[];
}

export interface Runtime {
  readonly engine: Engine;
  readonly store: Store;
  /**
   * Starts an execution and runs it in this process; resolves to the ended execution. A builder
   * workflow with functions is registered first (its version records their code id), and only
   * this process claims its function runs unless a worker was started with the same workflow.
   */
  run(workflow: Runnable, input?: Record<string, unknown>, options?: RunOptions): Promise<ExecutionRecord>;
  /**
   * Registers the workflow (with its code id) and starts an execution without running it here:
   * workers run it, a function task only on a worker given the same workflow (`startWorker({ workflows })`).
   */
  start(
    workflow: Runnable,
    input?: Record<string, unknown>,
    options?: StartOptions,
  ): Promise<ExecutionRecord>;
  /**
   * Finishes an execution whose process died: reclaims its expired leases and runs the rest.
   * An execution of a builder workflow needs its `functions`, the same ones it was started with.
   */
  resume(
    executionId: string,
    options?: { baseDir?: string; functions?: ReadonlyMap<string, TaskFunction> },
  ): Promise<ExecutionRecord>;
  /**
   * Converges an execution (running or ended) on `spec` by a new traversal, then, unless
   * `detach`, runs it in this process until the execution ends. Refused with
   * TraversalConflictError when another update landed first.
   */
  update(
    executionId: string,
    spec: WorkflowSpec,
    options?: TraversalRunOptions & { input?: Record<string, unknown>; rollbackOnFailure?: boolean },
  ): Promise<ExecutionRecord>;
  /** Converges back on the last earlier traversal that succeeded (see Engine.rollback). */
  rollback(executionId: string, options?: TraversalRunOptions): Promise<ExecutionRecord>;
  /** Runs the undo of every live version; the execution ends `undone` (see Engine.undo). */
  undo(executionId: string, options?: TraversalRunOptions): Promise<ExecutionRecord>;
  /**
   * Starts a long-running worker for every execution in the store (`weft worker`): it reads each
   * execution's definition from the store; relative `js` modules resolve against `workflowsDir`.
   * It claims function runs only of the `workflows` it was given, in their exact versions.
   */
  startWorker(options?: WorkerStartOptions): Worker;
  /**
   * Starts this process's share of the watchdog without running tasks (`weft server --workers 0`):
   * expired leases, delegate deadlines and workflow timeouts are reaped even where no worker runs.
   */
  startReaper(options?: { name?: string }): Worker;
  /**
   * Reclaims at once the runs that a dead process of this host, boot and PID namespace held (no
   * need to wait for their leases); the runs of any other process wait for their leases.
   */
  reclaimFromDeadProcesses(executionId: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * Builds a runtime: a store, an engine and in-process workers.
 *
 * @example
 * const runtime = await createRuntime({ store: "sqlite:.weft/weft.db" });
 * const execution = await runtime.run(flow, { count: 3 });
 */
export async function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  // First: a bad entry is refused before a store is opened for nothing.
  const policy = compileRunPolicy({
    allowActions: options.allowActions ?? process.env.WEFT_ALLOW_ACTIONS,
    allowHosts: options.allowHosts ?? process.env.WEFT_ALLOW_HOSTS,
  });
  const store =
    typeof options.store === "string" || options.store === undefined
      ? await openStore(options.store ?? "memory:")
      : options.store;
  const ownsStore = typeof options.store !== "object";
  const engine = new Engine(store, {
    leaseMs: options.leaseMs,
    onEvents: options.onEvents,
    maxDepth: options.maxDepth,
  });
  const logger = options.logger ?? silentLogger;
  const owner = ownerName("runner");
  const publicUrl = options.publicUrl ?? process.env.WEFT_PUBLIC_URL;
  // The runner's own store calls (start, the end's read) wait out outages as its worker does.
  const outage = new StoreOutage(logger, owner);

  async function drive(
    executionId: string,
    functions: ReadonlyMap<string, TaskFunction> | undefined,
    code: string | null,
    baseDir: string,
  ): Promise<ExecutionRecord> {
    let resolveEnded!: () => void;
    const ended = new Promise<void>((resolve) => (resolveEnded = resolve));
    const worker = new Worker({
      engine,
      store,
      owner,
      concurrency: options.concurrency,
      executionId,
      // Its sub-workflows run here too: `weft run` needs no worker for them.
      followChildren: true,
      codes: code === null ? [] : [code],
      logger,
      pollMs: options.pollMs,
      publicUrl,
      policy,
      loadWorkflow: async (id, traversal) => {
        const { execution, spec, input, base } = await readTraversal(store, id, traversal);
        return { spec, input, base, code: execution.code, functions, baseDir, origin: execution.origin };
      },
      onEnded: (ids) => {
        if (ids.includes(executionId)) resolveEnded();
      },
    });
    const unsubscribe = store.subscribe(() => worker.wake());
    worker.start();
    // Other processes may end it too (`weft cancel`, a callback): look now and then.
    const watch = setInterval(
      () => {
        store.getExecution(executionId).then(
          (execution) => {
            if (execution && isTerminalExecution(execution.status)) resolveEnded();
          },
          // An outage: the worker logs it and waits; the next look may succeed.
          () => undefined,
        );
      },
      Math.max(options.pollMs ?? 250, 100),
    );
    try {
      const current = await outage.retry(() => store.getExecution(executionId));
      if (current && isTerminalExecution(current.status)) resolveEnded();
      await ended;
    } finally {
      clearInterval(watch);
      unsubscribe();
      await worker.stop(0);
    }
    const execution = await outage.retry(() => store.getExecution(executionId));
    if (!execution) throw new ExecutionNotFoundError(executionId);
    return execution;
  }

  /**
   * `engine.start`, waiting out an outage. A COMMIT whose answer was lost may have landed: the
   * execution's id is chosen here, so a retry that finds it takes it rather than starting twice.
   */
  async function startThroughOutages(
    spec: WorkflowSpec,
    input: Record<string, unknown>,
    id: string,
    baseDir: string,
    code: string | null,
  ): Promise<ExecutionRecord> {
    let tried = false;
    return outage.retry(async () => {
      if (tried) {
        const landed = await store.getExecution(id);
        if (landed) return landed;
      }
      tried = true;
      return (await engine.start(spec, input, { id, baseDir, code })).execution;
    });
  }

  /**
   * The spec to start: a workflow with functions is registered with their code id first, so its
   * executions carry a version (`waiting for a worker that has etl v3`) and changed functions
   * make a new one. Registering is idempotent, so a retry after an outage registers nothing twice.
   */
  async function registered(prepared: PreparedWorkflow, always: boolean): Promise<WorkflowSpec> {
    if (prepared.code === null && !always) return prepared.spec;
    const record = await outage.retry(() => engine.registerWorkflow(prepared.spec, undefined, prepared.code));
    return record.spec;
  }

  /**
   * Starts a traversal (waiting out an outage: the new traversal's id is chosen here, so a retry
   * after a lost COMMIT that finds it current takes it rather than starting another), then runs
   * the execution here unless `detach`.
   */
  async function traverse(
    executionId: string,
    options: TraversalRunOptions,
    start: (traversal: { expectTraversal: string; id: string }) => Promise<unknown>,
  ): Promise<ExecutionRecord> {
    const before = await outage.retry(() => engine.getExecution(executionId));
    const traversal = { expectTraversal: options.expectTraversal ?? before.traversal, id: newId() };
    let tried = false;
    const started = await outage.retry(async () => {
      if (tried) {
        const landed = await engine.getExecution(executionId);
        if (landed.traversal === traversal.id) return landed;
      }
      tried = true;
      await start(traversal);
      return engine.getExecution(executionId);
    });
    options.onStarted?.(started);
    if (options.detach) return started;
    const baseDir = options.baseDir ?? started.baseDir ?? options.baseDir ?? process.cwd();
    return drive(executionId, undefined, null, baseDir);
  }

  const runtime: Runtime = {
    engine,
    store,
    update(executionId, spec, updateOptions = {}) {
      return traverse(executionId, updateOptions, (traversal) =>
        engine.update(executionId, spec, {
          ...traversal,
          input: updateOptions.input,
          rollbackOnFailure: updateOptions.rollbackOnFailure,
        }),
      );
    },
    rollback(executionId, traversalOptions = {}) {
      return traverse(executionId, traversalOptions, (traversal) => engine.rollback(executionId, traversal));
    },
    undo(executionId, traversalOptions = {}) {
      return traverse(executionId, traversalOptions, (traversal) => engine.undo(executionId, traversal));
    },
    async run(workflow, input = {}, runOptions = {}) {
      const prepared = prepareWorkflow(workflow);
      const spec = await registered(prepared, false);
      const baseDir = runOptions.baseDir ?? options.baseDir ?? process.cwd();
      const id = runOptions.id ?? newId();
      const execution = await startThroughOutages(spec, input, id, baseDir, prepared.code);
      runOptions.onStarted?.(execution);
      return drive(execution.id, prepared.functions, prepared.code, baseDir);
    },
    async start(workflow, input = {}, startOptions = {}) {
      const prepared = prepareWorkflow(workflow);
      const spec = await registered(prepared, true);
      const baseDir = startOptions.baseDir ?? options.baseDir ?? process.cwd();
      return startThroughOutages(spec, input, startOptions.id ?? newId(), baseDir, prepared.code);
    },
    async resume(executionId, resumeOptions = {}) {
      const execution = await outage.retry(() => engine.getExecution(executionId));
      const baseDir = resumeOptions.baseDir ?? execution.baseDir ?? options.baseDir ?? process.cwd();
      const code = codeId(execution.workflow, resumeOptions.functions);
      // Other functions than it started with would run another version's bodies: refuse.
      if (execution.code !== null && code !== execution.code) throw new CodeMismatchError(execution, code);
      return drive(executionId, resumeOptions.functions, code, baseDir);
    },
    startWorker(workerOptions = {}) {
      // The functions by code id: an execution gets exactly the ones it was started with.
      const byCode = new Map<string, ReadonlyMap<string, TaskFunction>>();
      for (const workflow of workerOptions.workflows ?? []) {
        const prepared = prepareWorkflow(workflow);
        if (prepared.code !== null) byCode.set(prepared.code, prepared.functions!);
      }
      const worker = new Worker({
        engine,
        store,
        owner: workerOptions.name ?? ownerName("worker"),
        concurrency: workerOptions.concurrency ?? options.concurrency,
        logger,
        pollMs: options.pollMs,
        publicUrl,
        policy,
        codes: [...byCode.keys()],
        loadWorkflow: async (id, traversal) => {
          const { execution, spec, input, base } = await readTraversal(store, id, traversal);
          // The worker's --workflows dir wins; else where `weft start` found the file; else cwd.
          const baseDir = workerOptions.workflowsDir ?? execution.baseDir ?? options.baseDir ?? process.cwd();
          const functions = execution.code === null ? undefined : byCode.get(execution.code);
          return {
            spec,
            input,
            base,
            code: execution.code,
            functions,
            baseDir,
            origin: execution.origin,
          };
        },
      });
      const unsubscribe = store.subscribe(() => worker.wake());
      worker.start();
      const stop = worker.stop.bind(worker);
      worker.stop = async (graceMs?: number) => {
        unsubscribe();
        await stop(graceMs);
      };
      return worker;
    },
    startReaper(reaperOptions = {}) {
      // A worker with no slots claims nothing; it still reaps on its timer.
      return runtime.startWorker({ concurrency: 0, name: reaperOptions.name ?? ownerName("reaper") });
    },
    reclaimFromDeadProcesses(executionId) {
      return engine.abandon(executionId, isDeadLocalOwner);
    },
    async close() {
      if (ownsStore) await store.close();
    },
  };
  return runtime;
}

/**
 * Where this process lives, as far as another process can tell from a lease owner's name: the
 * PID namespace (a container, `unshare --pid`) and the boot. A pid means something only within
 * one namespace of one boot; "?" when unknown (no /proc), which never matches anything.
 */
function processPlace(): { pidNamespace: string; boot: string } {
  const read = (read: () => string): string => {
    try {
      return read().trim();
    } catch {
      return "?";
    }
  };
  // "pid:[4026531836]" -> "4026531836".
  const pidNamespace = read(() => /\[(\d+)\]/.exec(readlinkSync("/proc/self/ns/pid"))?.[1] ?? "?");
  const boot = read(() =>
    readFileSync("/proc/sys/kernel/random/boot_id", "utf8").replace(/-/g, "").slice(0, 16),
  );
  return { pidNamespace, boot: boot === "" ? "?" : boot };
}

let place: { pidNamespace: string; boot: string } | undefined;

/**
 * A lease owner's name: `kind@host:pid:random:pidns:boot`, so that `weft resume` can tell that
 * the process died (see `isDeadLocalOwner`).
 *
 * @example
 * ownerName("worker") // "worker@build-7:4242:1f2e3d4c:4026531836:7b6406a3e2b14eb0"
 */
export function ownerName(kind: string): string {
  place ??= processPlace();
  return `${kind}@${hostname()}:${process.pid}:${newId().slice(0, 8)}:${place.pidNamespace}:${place.boot}`;
}

/**
 * True only when `owner` surely names a process that no longer exists: same host, same boot
 * and same PID namespace as this process, and `kill(pid, 0)` answers ESRCH. A process in a
 * container or another PID namespace with the same hostname, an owner name of an older Weft
 * (without namespace and boot) or anything unknown is not judged dead: its lease decides.
 */
export function isDeadLocalOwner(owner: string): boolean {
  const match = /^[^@]+@(.+):(\d+):[^:]+:(\d+):([0-9a-f]+)$/.exec(owner);
  if (!match || match[1] !== hostname()) return false;
  place ??= processPlace();
  if (match[3] !== place.pidNamespace || match[4] !== place.boot) return false;
  const pid = Number(match[2]);
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** The directory of a workflow file, where its relative paths resolve. */
export function baseDirOf(file: string): string {
  return dirname(file);
}

export type { ExecutionEvent };
