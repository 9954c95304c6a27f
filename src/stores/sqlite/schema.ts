/**
 * The rows of the SQLite schema (see migrations.ts) and their mapping to the Store port's
 * records. JSON columns are parsed only when they hold something: most runs carry no output
 * or error, and a NULL costs nothing to read.
 */
import { json, parentOf, parentValues, type ParentColumns } from "../sql-columns.js";
import type {
  ExecutionEvent,
  ExecutionRecord,
  Origin,
  RunKind,
  SyncRule,
  TaskRunRecord,
  WorkflowRecord,
} from "../../engine/store.js";
import type { ExecutionStatus, TaskStatus } from "../../engine/states.js";
import type { WorkflowSpec } from "../../definition/spec.js";
import type { TaskError } from "../../shared/errors.js";

/** What Weft binds to SQLite: no booleans (stored 0/1), no BigInt. */
export type SqlValue = string | number | null;

/** An `executions` row; `spec` and `input` are selected only when not cached (see ExecutionCache). */
export interface ExecutionRow extends ParentColumns {
  id: string;
  workflow: string;
  version: number | null;
  spec?: string;
  input?: string;
  status: string;
  traversal: string;
  output: string | null;
  error: string | null;
  failures: number;
  end_status: string | null;
  deadline: number | null;
  base_dir: string | null;
  origin: string;
  code: string | null;
  base: number;
  next_seq: number;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

/** The columns of an execution without its immutable JSON (spec, input). */
export const EXECUTION_STATE_COLUMNS =
  "id, workflow, version, status, traversal, output, error, failures, end_status, deadline, base_dir, origin, code, base, next_seq, parent_id, parent_seq, parent_attempt, parent_traversal, depth, created_at, updated_at, finished_at";

export const EXECUTION_INSERT_COLUMNS =
  "id, workflow, version, spec, input, status, traversal, output, error, failures, end_status, deadline, base_dir, origin, code, base, next_seq, parent_id, parent_seq, parent_attempt, parent_traversal, depth, created_at, updated_at, finished_at";

export function executionValues(e: ExecutionRecord): SqlValue[] {
  return [
    e.id,
    e.workflow,
    e.version,
    JSON.stringify(e.spec),
    JSON.stringify(e.input ?? {}),
    e.status,
    e.traversal,
    json(e.output),
    json(e.error),
    e.failures,
    e.endStatus,
    e.deadline,
    e.baseDir ?? null,
    e.origin,
    e.code,
    e.base,
    e.nextSeq,
    ...parentValues(e),
    e.createdAt,
    e.updatedAt,
    e.finishedAt,
  ];
}

/** The parent link of a row: null when it has none (every row older than sub-workflows). */
/** Builds the record from a row and the execution's parsed (cached) spec and input. */
export function toExecution(
  row: ExecutionRow,
  immutable: Pick<ExecutionRecord, "spec" | "input">,
): ExecutionRecord {
  return {
    id: row.id,
    workflow: row.workflow,
    version: row.version,
    spec: immutable.spec,
    input: immutable.input,
    status: row.status as ExecutionStatus,
    traversal: row.traversal,
    output: parseJson(row.output),
    error: parseJson(row.error) as ExecutionRecord["error"],
    failures: row.failures,
    endStatus: row.end_status as ExecutionRecord["endStatus"],
    deadline: row.deadline,
    baseDir: row.base_dir,
    origin: row.origin as Origin,
    code: row.code ?? null,
    base: row.base,
    nextSeq: row.next_seq,
    parent: parentOf(row),
    depth: row.depth ?? 0,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  };
}

/**
 * The columns of `task_runs`, in the order rows are read (raw arrays: better-sqlite3 builds an
 * array far faster than an object with 32 named properties) and inserted. The identity comes
 * last, so a statement whose caller already knows it (a compare-and-set names the run) reads
 * only the first RUN_STATE_COUNT columns, or those and `seq`.
 */
export const RUN_COLUMNS = [
  "task",
  "kind",
  "status",
  "attempt",
  "max_attempts",
  "pending",
  "failed_predecessors",
  "skipped_predecessors",
  "rule",
  "allow_failure",
  "successors",
  "timeout",
  "run_after",
  "lease_owner",
  "lease_expires_at",
  "deadline",
  "token_hash",
  "output",
  "error",
  "started_at",
  "finished_at",
  "interruptions",
  "code",
  "version_key",
  "reused_from",
  "target",
  "undone_at",
  "superseded_by",
  "item",
  "seq",
  "execution_id",
  "traversal",
] as const;

/** Columns before the identity (seq, execution_id, traversal). */
export const RUN_STATE_COUNT = RUN_COLUMNS.indexOf("seq");

/** Every column, as a SELECT or RETURNING list. */
export const RUN_SELECT = RUN_COLUMNS.join(", ");
/** Every column but the identity. */
export const RUN_STATE_SELECT = RUN_COLUMNS.slice(0, RUN_STATE_COUNT).join(", ");
/** Every column but execution and traversal. */
export const RUN_STATE_SEQ_SELECT = RUN_COLUMNS.slice(0, RUN_STATE_COUNT + 1).join(", ");

/** Where `pending` sits in a run row. */
export const RUN_PENDING = RUN_COLUMNS.indexOf("pending");

/** A `task_runs` row as a raw array, in `RUN_COLUMNS` order (possibly without its identity). */
export type TaskRunRow = readonly SqlValue[];

/** What a caller knows of a run's identity when its row leaves it out. */
export interface RunIdentity {
  executionId: string;
  traversal: string;
  /** Absent when the row carries it. */
  seq?: number;
}

export function runValues(r: TaskRunRecord): SqlValue[] {
  return [
    r.task,
    r.kind,
    r.status,
    r.attempt,
    r.maxAttempts,
    r.pending,
    r.failedPredecessors,
    r.skippedPredecessors,
    r.rule,
    r.allowFailure ? 1 : 0,
    JSON.stringify(r.successors),
    r.timeout,
    r.runAfter,
    r.leaseOwner,
    r.leaseExpiresAt,
    r.deadline,
    r.tokenHash,
    json(r.output),
    json(r.error),
    r.startedAt,
    r.finishedAt,
    r.interruptions,
    r.code,
    r.versionKey,
    r.reusedFrom,
    r.target,
    r.undoneAt,
    r.supersededBy,
    json(r.item),
    r.seq,
    r.executionId,
    r.traversal,
  ];
}

/** The record of a row; `known` supplies the identity columns the row was read without. */
export function toRun(row: TaskRunRow, known?: RunIdentity): TaskRunRecord {
  return {
    executionId: known ? known.executionId : (row[30] as string),
    seq: known?.seq ?? (row[29] as number),
    task: row[0] as string,
    kind: row[1] as RunKind,
    status: row[2] as TaskStatus,
    traversal: known ? known.traversal : (row[31] as string),
    attempt: row[3] as number,
    maxAttempts: row[4] as number,
    interruptions: row[21] as number,
    pending: row[5] as number,
    failedPredecessors: row[6] as number,
    skippedPredecessors: row[7] as number,
    rule: row[8] as SyncRule,
    allowFailure: row[9] !== 0,
    successors: JSON.parse(row[10] as string) as number[],
    timeout: row[11] as number | null,
    runAfter: row[12] as number,
    leaseOwner: row[13] as string | null,
    leaseExpiresAt: row[14] as number | null,
    deadline: row[15] as number | null,
    tokenHash: row[16] as string | null,
    code: row[22] as string | null,
    versionKey: row[23] as string | null,
    reusedFrom: row[24] as number | null,
    target: row[25] as number | null,
    undoneAt: row[26] as number | null,
    supersededBy: row[27] as string | null,
    item: parseJson(row[28] as string | null),
    output: parseJson(row[17] as string | null),
    error: parseJson(row[18] as string | null) as TaskError | null,
    startedAt: row[19] as number | null,
    finishedAt: row[20] as number | null,
  };
}

/** An `events` row: the fields beyond id, execution, time and type travel in `payload`. */
export interface EventRow {
  id: number;
  execution_id: string;
  at: number;
  type: string;
  payload: string;
}

export const EVENT_INSERT_COLUMNS = ["execution_id", "at", "type", "payload"] as const;

export function eventValues(event: ExecutionEvent): SqlValue[] {
  const { id: _id, executionId, at, type, ...payload } = event;
  return [executionId, at, type, JSON.stringify(payload)];
}

export function toEvent(row: EventRow): ExecutionEvent {
  return {
    id: row.id,
    executionId: row.execution_id,
    at: row.at,
    type: row.type as ExecutionEvent["type"],
    ...(JSON.parse(row.payload) as Partial<ExecutionEvent>),
  };
}

/** A `workflows` row: one registered version of a workflow. */
export interface WorkflowRow {
  name: string;
  version: number;
  spec: string;
  origin: string;
  code: string | null;
  created_at: number;
}

export function toWorkflow(row: WorkflowRow): WorkflowRecord {
  return {
    name: row.name,
    version: row.version,
    spec: JSON.parse(row.spec) as WorkflowSpec,
    origin: row.origin as Origin,
    code: row.code ?? null,
    createdAt: row.created_at,
  };
}

export { EXECUTION_PATCH_COLUMNS, json, RUN_PATCH_COLUMNS, type PatchColumn } from "../sql-columns.js";

export function parseJson(text: string | null): unknown {
  return text === null ? null : JSON.parse(text);
}

export { TRAVERSAL_COLUMNS, toTraversal, traversalValues, type TraversalRow } from "../traversal-rows.js";
