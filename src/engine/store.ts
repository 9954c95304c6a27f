/**
 * The Store port: the only way the engine touches state. Adapters (memory, sqlite, postgres)
 * implement it in `src/stores/<name>/`; all of them pass `test/conformance/store.suite.ts`.
 *
 * The port speaks in workflow terms and stays dumb: the engine computes every transition and
 * asks the store to apply it inside one transaction. Reads that guard a transition are
 * compare-and-set conditions evaluated by the store, so two processes racing for one row
 * cannot both win (the Heat seed's sync points: atomic row updates, never a mutex).
 */
import type { Clock } from "../shared/clock.js";
import type { TaskError } from "../shared/errors.js";
import type { WorkflowSpec } from "../definition/spec.js";
import type { ExecutionEvent } from "./events.js";
import type { ExecutionStatus, TaskStatus } from "./states.js";

export { EventType, type ExecutionEvent } from "./events.js";

/** A value or a promise of it: memory and SQLite answer synchronously, PostgreSQL does not. */
export type Awaitable<T> = T | Promise<T>;

/** What makes a run: a task of the workflow, an undo, or one of the two internal sync points. */
export const RunKind = {
  task: "task",
  /** The undo (compensation) of a task; runs in reverse dependency order. */
  undo: "undo",
  /** The end of the execution: resolves when every leaf task ended. Evaluates `output`. */
  end: "end",
  /** The end of the undos: resolves when every undo ended. */
  undoEnd: "undo_end",
  /** The end of a traversal's cleanup: resolves when the undo of every version it no longer uses ended. */
  cleanupEnd: "cleanup_end",
  /** One item's run of a `forEach` task (task `NAME[i]`): created when the task's list was evaluated. */
  instance: "instance",
} as const;
export type RunKind = (typeof RunKind)[keyof typeof RunKind];

/**
 * How a run is decided when its last predecessor ends. The three user triggers, plus the rules
 * of internal runs: `undo_skip` (an undo that has nothing to undo: skipped once its successors'
 * undos ended) and `end` (an internal sync point).
 */
export type SyncRule = "all_success" | "all_done" | "any_failed" | "undo_skip" | "end";

/** Why an execution is ending while its undos run. */
export type EndStatus = "failed" | "cancelled";

/**
 * Where a definition came from. `http`: registered over the HTTP API by a client, so workers
 * check its actions against their policy before running them. `direct`: from a process with
 * direct access to the store (`weft run`, `weft start FILE`, the library), trusted as it is.
 */
export const Origin = { http: "http", direct: "direct" } as const;
export type Origin = (typeof Origin)[keyof typeof Origin];

export interface ExecutionError {
  type: string;
  message: string;
  /** The task whose failure failed the execution, when one did. */
  task?: string;
}

export interface ExecutionRecord {
  id: string;
  workflow: string;
  version: number | null;
  spec: WorkflowSpec;
  input: Record<string, unknown>;
  status: ExecutionStatus;
  /** Work reported under any other traversal is discarded (updates start a new one). */
  traversal: string;
  output: unknown;
  error: ExecutionError | null;
  /** Tasks that failed without allowFailure. */
  failures: number;
  /** While compensating: the status the execution takes when its undos ended. */
  endStatus: EndStatus | null;
  /** Epoch ms after which `reap` fails the whole execution (the workflow's `timeout`). */
  deadline: number | null;
  /** Where the workflow's relative paths (`js` modules, `shell` cwd) resolve: its file's directory. */
  baseDir: string | null;
  /** Where its definition came from; workers re-check `http` ones against their action policy. */
  origin: Origin;
  /**
   * The code id of the builder functions it was started with (see runtime/code-id.ts), or null
   * when it calls none: a worker runs its function tasks only with exactly these functions.
   */
  code: string | null;
  /**
   * The seq of the current traversal's first run: its runs take `base + layout seq` (0 until an
   * update; see engine/traversals.ts).
   */
  base: number;
  /** The next seq no run of the execution holds yet (see `StoreTx.allocateSeqs`). */
  nextSeq: number;
  /**
   * The run of another execution that started this one (a task with `action: workflow`), or null
   * for an execution started by a person or a program. Its end settles exactly that attempt.
   */
  parent: ParentRun | null;
  /** How many parents it has above it: 0 at the top (bounded by `EngineOptions.maxDepth`). */
  depth: number;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

/** What started a traversal of an execution. */
export const TraversalCause = {
  start: "start",
  update: "update",
  rollback: "rollback",
  undo: "undo",
} as const;
export type TraversalCause = (typeof TraversalCause)[keyof typeof TraversalCause];

/**
 * How a traversal ended: as its execution did, or `superseded` when another traversal replaced
 * it before it ended. `running` while it is the current one and the execution has not ended.
 */
export type TraversalStatus = ExecutionStatus | "superseded";

/**
 * One traversal of an execution: the definition and input it converges on. An execution gets
 * its rows at its first update (one for the start traversal, one for the update); one that was
 * never updated has none, and its only traversal is described by the execution itself.
 */
export interface TraversalRecord {
  executionId: string;
  id: string;
  /** 1 for the start traversal, then 2, 3, ... in the order they were started. */
  number: number;
  cause: TraversalCause;
  spec: WorkflowSpec;
  input: Record<string, unknown>;
  /** The seq of its first run (see ExecutionRecord.base). */
  base: number;
  status: TraversalStatus;
  /** An update started with `rollbackOnFailure`: its failure starts a rollback traversal. */
  rollbackOnFailure: boolean;
  createdAt: number;
  finishedAt: number | null;
}

/** The attempt of a parent's run that a sub-workflow's execution reports to. */
export type ParentRun = Pick<TaskRunRecord, "executionId" | "seq" | "attempt" | "traversal">;

/** One task (or undo, or sync point) of one execution in one traversal. */
export interface TaskRunRecord {
  executionId: string;
  /** Position in the execution: tasks are 0..n-1 in topological order, then end, then undos. */
  seq: number;
  task: string;
  kind: RunKind;
  status: TaskStatus;
  traversal: string;
  /** Attempts started so far; 0 before the first claim. */
  attempt: number;
  maxAttempts: number;
  /**
   * Attempts that were interrupted (their lease expired, their process died, their worker shut
   * down): they are among `attempt` but do not count against `maxAttempts`.
   */
  interruptions: number;
  /** The sync point: predecessors not yet ended. */
  pending: number;
  /** Predecessors that ended failed (without allowFailure). */
  failedPredecessors: number;
  /** Predecessors that ended skipped or cancelled. */
  skippedPredecessors: number;
  rule: SyncRule;
  allowFailure: boolean;
  /** Seqs of the runs whose sync points this run's end decrements. */
  successors: number[];
  /** Per-attempt timeout in ms, or the delegate's wait. */
  timeout: number | null;
  /** Epoch ms before which a ready or retrying run is not claimed. */
  runAfter: number;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  /** A waiting delegate's deadline. */
  deadline: number | null;
  /** SHA-256 of the waiting delegate's completion token; the token itself is never stored. */
  tokenHash: string | null;
  /**
   * The execution's code id on a task run that calls a builder function, else null: only a
   * worker that has these functions claims it (`ClaimRequest.codes`). Set at insert, never patched.
   */
  code: string | null;
  /**
   * On a task run whose body succeeded: the hash of its definition and resolved inputs (see
   * engine/version-key.ts). A later traversal reuses it when its own task hashes the same.
   */
  versionKey: string | null;
  /** On a task run of a later traversal that reused a version: the seq of that version's run. */
  reusedFrom: number | null;
  /** On an undo run: the seq of the task run (the version) it undoes; null for a compensation undo of its own traversal's layout. */
  target: number | null;
  /** When this version's undo succeeded: it is no longer live (neither reused nor cleaned up again). */
  undoneAt: number | null;
  /**
   * On a run still running when a later traversal started: that traversal. Its end then drives
   * nothing of its own traversal; it releases the same task's run in this one (see traversals.ts).
   */
  supersededBy: string | null;
  /** An instance's item (see RunKind.instance), null on every other run. Set at insert, never patched. */
  item: unknown;
  output: unknown;
  error: TaskError | null;
  startedAt: number | null;
  finishedAt: number | null;
}

/** The identity of a run plus what a compare-and-set on it must still find. */
export interface RunGuard {
  executionId: string;
  seq: number;
  /** Statuses the run must be in; anything else means a stale or duplicate report. */
  status: readonly TaskStatus[];
  attempt?: number;
  traversal: string;
  /** Reaping: the lease must have expired before this time (a renewal in between wins). */
  leaseExpiresBefore?: number;
  /** Reaping a delegate: its deadline must have passed before this time. */
  deadlineBefore?: number;
}

/** Where a run is: its execution and its seq. */
export type RunKey = Pick<TaskRunRecord, "executionId" | "seq">;

/** One compare-and-set of a batch (see `StoreTx.updateRuns`). */
export interface RunChange {
  guard: RunGuard;
  patch: RunPatch;
}

/** Fields a transition sets on a run. */
export type RunPatch = Partial<
  Pick<
    TaskRunRecord,
    | "status"
    | "attempt"
    | "runAfter"
    | "leaseOwner"
    | "leaseExpiresAt"
    | "deadline"
    | "tokenHash"
    | "output"
    | "error"
    | "startedAt"
    | "finishedAt"
    | "maxAttempts"
    | "interruptions"
    | "pending"
    | "failedPredecessors"
    | "skippedPredecessors"
    | "versionKey"
    | "reusedFrom"
    | "undoneAt"
    | "supersededBy"
  >
>;

export type ExecutionPatch = Partial<
  Pick<
    ExecutionRecord,
    | "status"
    | "output"
    | "error"
    | "failures"
    | "endStatus"
    | "updatedAt"
    | "finishedAt"
    | "traversal"
    | "spec"
    | "input"
    | "version"
    | "base"
    | "deadline"
    | "origin"
  >
>;

/** Fields a transition sets on a traversal. */
export type TraversalPatch = Partial<Pick<TraversalRecord, "status" | "finishedAt">>;

/**
 * What the end of one predecessor changes on one successor's sync point: `pending` one less,
 * `failed` and `skipped` (0 or 1) added to its counters.
 */
export interface SyncPointDelta {
  executionId: string;
  seq: number;
  traversal: string;
  failed: number;
  skipped: number;
}

/** A registered workflow definition: what `weft start NAME` and `POST /v1/executions` run. */
export interface WorkflowRecord {
  name: string;
  version: number;
  spec: WorkflowSpec;
  /** Who registered this version: a client over HTTP, or a process with direct store access. */
  origin: Origin;
  /** The code id of its builder functions, or null: the same spec with other functions is another version. */
  code: string | null;
  createdAt: number;
}

export interface ClaimRequest {
  now: number;
  owner: string;
  leaseExpiresAt: number;
  limit: number;
  /** Only this execution's runs (the sync runner and `weft resume`). */
  executionId?: string;
  /**
   * The code ids whose functions the claimer has: runs with another code id are left for a worker
   * that has them. Absent or empty: only runs that need no code (null).
   */
  codes?: readonly string[];
}

/** Executions by status, every status present. */
export type ExecutionCounts = Record<ExecutionStatus, number>;

export interface ExecutionFilter {
  status?: ExecutionStatus;
  workflow?: string;
  /** Only the sub-workflows started by this execution's runs (its children). */
  parentId?: string;
  limit?: number;
  /** Only executions created strictly before this one in the newest-first order (pagination). */
  before?: { createdAt: number; id: string };
}

/**
 * Operations inside one transaction. Every method may answer synchronously or with a promise;
 * the engine awaits them all. Compare-and-set methods answer null or false when the guard
 * did not hold, and change nothing then.
 */
export interface StoreTx {
  insertExecution(execution: ExecutionRecord): Awaitable<void>;
  getExecution(id: string): Awaitable<ExecutionRecord | undefined>;
  /** Compare-and-set on the execution's status (and traversal when given). */
  updateExecution(
    id: string,
    guard: { status: readonly ExecutionStatus[]; traversal?: string },
    patch: ExecutionPatch,
  ): Awaitable<boolean>;
  insertRuns(runs: readonly TaskRunRecord[]): Awaitable<void>;
  getRun(executionId: string, seq: number): Awaitable<TaskRunRecord | undefined>;
  /**
   * The runs at `keys`, of any executions, in one call (a worker's batch of reports): answered
   * in the order of `keys`, undefined where no run is.
   */
  getRunsByKey(keys: readonly RunKey[]): Awaitable<(TaskRunRecord | undefined)[]>;
  listRuns(executionId: string): Awaitable<TaskRunRecord[]>;
  /** Compare-and-set on one run; answers the updated run, or null when the guard did not hold. */
  updateRun(guard: RunGuard, patch: RunPatch): Awaitable<TaskRunRecord | null>;
  /**
   * Compare-and-set on many runs in one call: for each change, in order, the updated run, or
   * null when its guard did not hold (that change alone is then not applied). Changes apply in
   * order, so a run named twice has its second guard checked against the first change.
   *
   * @example
   * await tx.updateRuns([{ guard, patch: { status: "ready", runAfter: now } }]) // [run] or [null]
   */
  updateRuns(changes: readonly RunChange[]): Awaitable<(TaskRunRecord | null)[]>;
  /**
   * Applies the deltas to the sync points of `blocked` and `expanded` runs (see `countsDown`)
   * of the deltas' traversal, atomically
   * per row. Deltas naming one run (it follows several runs that ended together) apply as one:
   * `pending` drops by their number, never below zero, and the counters grow by their sums.
   * Answers, once each and in the order of their first delta, the runs whose `pending` reached
   * zero by exactly this call, in the status they were found in, for the engine to decide.
   */
  decrementSyncPoints(deltas: readonly SyncPointDelta[]): Awaitable<TaskRunRecord[]>;
  /** Moves up to `limit` ready or retrying runs whose runAfter has passed to running, under a lease. */
  claimRuns(request: ClaimRequest): Awaitable<TaskRunRecord[]>;
  /**
   * Counts `count` (default 1) task failures against the execution (atomically:
   * `failures + count`) and keeps the first failure as the execution's error.
   */
  recordFailure(executionId: string, error: ExecutionError, count?: number): Awaitable<void>;
  /** The delegate run holding this token hash, whatever its status now, if any. */
  findRunByToken(tokenHash: string): Awaitable<TaskRunRecord | undefined>;
  /** Running runs whose lease expired, and waiting runs whose deadline passed, before `now`. */
  findExpiredRuns(now: number, limit: number): Awaitable<TaskRunRecord[]>;
  /** Running executions whose deadline passed before `now`. */
  findOverdueExecutions(now: number, limit: number): Awaitable<ExecutionRecord[]>;
  appendEvents(events: readonly ExecutionEvent[]): Awaitable<void>;
  /** One version of a workflow, or its highest version when `version` is omitted. */
  getWorkflow(name: string, version?: number): Awaitable<WorkflowRecord | undefined>;
  /** Adds a version of a workflow; (name, version) is unique. */
  insertWorkflow(workflow: WorkflowRecord): Awaitable<void>;
  /**
   * Reserves `count` seqs no run of the execution holds, atomically (two transactions never get
   * the same): answers the first; they are `first .. first + count - 1`.
   */
  allocateSeqs(executionId: string, count: number): Awaitable<number>;
  insertTraversal(traversal: TraversalRecord): Awaitable<void>;
  /** The traversals of an execution, by number (none when it was never updated). */
  listTraversals(executionId: string): Awaitable<TraversalRecord[]>;
  updateTraversal(executionId: string, id: string, patch: TraversalPatch): Awaitable<void>;
}

/** What differs between adapters, as data (never `instanceof`). */
export interface StoreCapabilities {
  /** Other processes may write to the same store (SQLite file, PostgreSQL). */
  sharedAcrossProcesses: boolean;
  /** The store can wake waiters when runs become ready (PostgreSQL LISTEN/NOTIFY). */
  notifications: boolean;
}

export interface Store {
  readonly capabilities: StoreCapabilities;
  /**
   * The clock every process sharing this store reads "now" from for what it compares with
   * other processes' times (leases, deadlines, runAfter): the database server's on PostgreSQL
   * (hosts' clocks may disagree), the local one where the store lives on one machine.
   */
  readonly clock: Clock;
  /** Runs `fn` in one atomic transaction; a thrown error rolls everything back. */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  getExecution(id: string): Promise<ExecutionRecord | undefined>;
  listExecutions(filter?: ExecutionFilter): Promise<ExecutionRecord[]>;
  listRuns(executionId: string): Promise<TaskRunRecord[]>;
  /** Some runs of one execution, by seq (a worker reading its task's predecessors' results). */
  getRuns(executionId: string, seqs: readonly number[]): Promise<TaskRunRecord[]>;
  listEvents(executionId: string, afterId?: number): Promise<ExecutionEvent[]>;
  /**
   * The earliest runAfter among ready or retrying runs (of one execution when given) that a
   * claimer with `codes` could claim (see `ClaimRequest.codes`), for a runner's timer.
   */
  nextRunAfter(executionId?: string, codes?: readonly string[]): Promise<number | null>;
  /** The highest version of every registered workflow, by name. */
  listWorkflows(): Promise<WorkflowRecord[]>;
  /** The traversals of an execution, by number (none when it was never updated). */
  listTraversals(executionId: string): Promise<TraversalRecord[]>;
  /**
   * A live version of `task` in the execution whose key is `versionKey`: a task run whose body
   * succeeded (not a reuse), whose undo has not run. The lowest seq when several match.
   */
  findVersion(executionId: string, task: string, versionKey: string): Promise<TaskRunRecord | undefined>;
  /**
   * How many executions are in each status now, every status present (zero when none): one
   * grouped count over the status index, cheap enough to answer every metrics scrape.
   */
  countExecutions(): Promise<ExecutionCounts>;
  /**
   * The ready-queue depth: ready or retrying runs whose runAfter is at or before `now` (what a
   * claim at `now` could take), counted over the claim index.
   */
  countReady(now: number): Promise<number>;
  /**
   * Calls `listener` when another process may have made runs ready (stores with
   * `capabilities.notifications`); answers the function that unsubscribes. Others never call it.
   */
  subscribe(listener: () => void): () => void;
  close(): Promise<void>;
}
