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
import { ExecutionNotFoundError } from "../shared/errors.js";
import { newId } from "../shared/ids.js";
import { silentLogger, type Logger } from "../shared/logger.js";
import type { TaskFunction } from "../worker/task-runner.js";
import { StoreOutage } from "../worker/store-outage.js";
import { Worker } from "../worker/worker.js";
import { openStore } from "./open-store.js";
import { compileRunPolicy } from "../actions/run-policy.js";

/** A builder workflow (anything with a `spec` and optional `functions`) or a plain spec. */
export type Runnable =
  WorkflowSpec | { readonly spec: WorkflowSpec; readonly functions?: ReadonlyMap<string, TaskFunction> };

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
}

export interface RunOptions {
  /** Resolves as soon as the execution exists (before it runs): `weft run` prints its id. */
  onStarted?: (execution: ExecutionRecord) => void;
  baseDir?: string;
  id?: string;
}

export interface Runtime {
  readonly engine: Engine;
  readonly store: Store;
  /** Starts an execution and runs it in this process; resolves to the ended execution. */
  run(workflow: Runnable, input?: Record<string, unknown>, options?: RunOptions): Promise<ExecutionRecord>;
  /** Finishes an execution whose process died: reclaims its expired leases and runs the rest. */
  resume(
    executionId: string,
    options?: { baseDir?: string; functions?: ReadonlyMap<string, TaskFunction> },
  ): Promise<ExecutionRecord>;
  /**
   * Starts a long-running worker for every execution in the store (`weft worker`): it reads each
   * execution's definition from the store; relative `js` modules resolve against `workflowsDir`.
   */
  startWorker(options?: { concurrency?: number; workflowsDir?: string; name?: string }): Worker;
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

function unpack(workflow: Runnable): { spec: WorkflowSpec; functions?: ReadonlyMap<string, TaskFunction> } {
  return "spec" in workflow ? { spec: workflow.spec, functions: workflow.functions } : { spec: workflow };
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
  const engine = new Engine(store, { leaseMs: options.leaseMs, onEvents: options.onEvents });
  const logger = options.logger ?? silentLogger;
  const owner = ownerName("runner");
  const publicUrl = options.publicUrl ?? process.env.WEFT_PUBLIC_URL;
  // The runner's own store calls (start, the end's read) wait out outages as its worker does.
  const outage = new StoreOutage(logger, owner);

  async function drive(
    executionId: string,
    functions: ReadonlyMap<string, TaskFunction> | undefined,
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
      logger,
      pollMs: options.pollMs,
      publicUrl,
      policy,
      loadWorkflow: async (id) => {
        const execution = await store.getExecution(id);
        if (!execution) throw new ExecutionNotFoundError(id);
        return { spec: execution.spec, input: execution.input, functions, baseDir, origin: execution.origin };
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
  ): Promise<ExecutionRecord> {
    let tried = false;
    return outage.retry(async () => {
      if (tried) {
        const landed = await store.getExecution(id);
        if (landed) return landed;
      }
      tried = true;
      return (await engine.start(spec, input, { id, baseDir })).execution;
    });
  }

  const runtime: Runtime = {
    engine,
    store,
    async run(workflow, input = {}, runOptions = {}) {
      const { spec, functions } = unpack(workflow);
      const baseDir = runOptions.baseDir ?? options.baseDir ?? process.cwd();
      const execution = await startThroughOutages(spec, input, runOptions.id ?? newId(), baseDir);
      runOptions.onStarted?.(execution);
      return drive(execution.id, functions, baseDir);
    },
    async resume(executionId, resumeOptions = {}) {
      const execution = await outage.retry(() => engine.getExecution(executionId));
      const baseDir = resumeOptions.baseDir ?? execution.baseDir ?? options.baseDir ?? process.cwd();
      return drive(executionId, resumeOptions.functions, baseDir);
    },
    startWorker(workerOptions = {}) {
      const worker = new Worker({
        engine,
        store,
        owner: workerOptions.name ?? ownerName("worker"),
        concurrency: workerOptions.concurrency ?? options.concurrency,
        logger,
        pollMs: options.pollMs,
        publicUrl,
        policy,
        loadWorkflow: async (id) => {
          const execution = await store.getExecution(id);
          if (!execution) throw new ExecutionNotFoundError(id);
          // The worker's --workflows dir wins; else where `weft start` found the file; else cwd.
          const baseDir = workerOptions.workflowsDir ?? execution.baseDir ?? options.baseDir ?? process.cwd();
          return { spec: execution.spec, input: execution.input, baseDir, origin: execution.origin };
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
