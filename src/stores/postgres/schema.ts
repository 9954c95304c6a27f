/**
 * The rows of the PostgreSQL schema (see migrations.ts) and their mapping to the Store port's
 * records. node-postgres already parses json columns, integer arrays and booleans; bigint
 * columns are parsed to numbers by the pool's type parsers (see postgres-store.ts), as epoch
 * milliseconds and event ids stay far below 2^53.
 *
 * Values bound to json columns are always JSON text made here: node-postgres would otherwise
 * send a JavaScript array as a PostgreSQL array literal.
 */
import { json, parentOf, parentValues, type ParentColumns } from "../sql-columns.js";
import type {
  EventType,
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

/** An `executions` row; `spec` and `input` are selected only when not cached (see ExecutionCache). */
export interface ExecutionRow extends ParentColumns {
  id: string;
  workflow: string;
  version: number | null;
  spec?: WorkflowSpec;
  input?: Record<string, unknown>;
  status: string;
  traversal: string;
  output: unknown;
  error: ExecutionRecord["error"];
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

/**
 * The columns of `task_runs`, each with the array type its insert binds (unnest of one array
 * per column) and, where the array type differs from the column's, the cast back.
 */
const RUN_COLUMN_TYPES: readonly (readonly [column: string, arrayType: string, cast?: string])[] = [
  ["execution_id", "text[]"],
  ["seq", "integer[]"],
  ["task", "text[]"],
  ["kind", "text[]"],
  ["status", "text[]"],
  ["traversal", "text[]"],
  ["attempt", "integer[]"],
  ["max_attempts", "integer[]"],
  ["pending", "integer[]"],
  ["failed_predecessors", "integer[]"],
  ["skipped_predecessors", "integer[]"],
  ["rule", "text[]"],
  ["allow_failure", "boolean[]"],
  // An array literal per row: unnest cannot take an array of arrays of different lengths.
  ["successors", "text[]", "integer[]"],
  ["timeout", "bigint[]"],
  ["run_after", "bigint[]"],
  ["lease_owner", "text[]"],
  ["lease_expires_at", "bigint[]"],
  ["deadline", "bigint[]"],
  ["token_hash", "text[]"],
  ["output", "text[]", "json"],
  ["error", "text[]", "json"],
  ["started_at", "bigint[]"],
  ["finished_at", "bigint[]"],
  ["interruptions", "integer[]"],
  ["code", "text[]"],
  ["version_key", "text[]"],
  ["reused_from", "integer[]"],
  ["target", "integer[]"],
  ["undone_at", "bigint[]"],
  ["superseded_by", "text[]"],
  ["item", "text[]", "json"],
];

/**
 * Statements name their columns rather than `*`: a prepared statement whose result shape
 * changed fails ("cached plan must not change result type"), so a column added by a later
 * migration would break processes of the previous version still running beside it.
 */
export const RUN_COLUMNS = RUN_COLUMN_TYPES.map(([column]) => column).join(", ");

/** RUN_COLUMNS qualified by a table alias (statements that join task_runs to something). */
export function runColumnsOf(alias: string): string {
  return RUN_COLUMNS.split(", ")
    .map((column) => `${alias}.${column}`)
    .join(", ");
}

/** Every column of an event. */
export const EVENT_COLUMNS = "id, execution_id, at, type, payload";
/** Every column of a workflow. */
export const WORKFLOW_COLUMNS = "name, version, spec, origin, code, created_at";

/** The columns of an execution without its immutable JSON (spec, input). */
export const EXECUTION_STATE_COLUMNS =
  "id, workflow, version, status, traversal, output, error, failures, end_status, deadline, base_dir, origin, code, base, next_seq, parent_id, parent_seq, parent_attempt, parent_traversal, depth, created_at, updated_at, finished_at";

/** Every column of an execution, spec and input included. */
export const EXECUTION_COLUMNS =
  "id, workflow, version, spec, input, status, traversal, output, error, failures, end_status, deadline, " +
  "base_dir, origin, code, base, next_seq, parent_id, parent_seq, parent_attempt, parent_traversal, depth, created_at, updated_at, finished_at";

/** Inserts one execution; its values come from executionValues. */
export const EXECUTION_INSERT =
  `INSERT INTO executions (${EXECUTION_COLUMNS}) VALUES (` +
  Array.from({ length: EXECUTION_COLUMNS.split(",").length }, (_, i) => `$${i + 1}`).join(", ") +
  ")";

/** The values of EXECUTION_INSERT, JSON columns as JSON text. */
export function executionValues(e: ExecutionRecord): unknown[] {
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
    output: row.output ?? null,
    error: row.error ?? null,
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

/** A `task_runs` row as node-postgres answers it. */
export interface TaskRunRow {
  execution_id: string;
  seq: number;
  task: string;
  kind: string;
  status: string;
  traversal: string;
  attempt: number;
  max_attempts: number;
  pending: number;
  failed_predecessors: number;
  skipped_predecessors: number;
  rule: string;
  allow_failure: boolean;
  successors: number[];
  timeout: number | null;
  run_after: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  deadline: number | null;
  token_hash: string | null;
  output: unknown;
  error: TaskError | null;
  started_at: number | null;
  finished_at: number | null;
  interruptions: number;
  code: string | null;
  version_key: string | null;
  reused_from: number | null;
  target: number | null;
  undone_at: number | null;
  superseded_by: string | null;
  item: unknown;
}

/**
 * Inserts any number of runs in one statement with a constant text (so it is prepared once per
 * connection): one array parameter per column, zipped back into rows by unnest.
 */
export const RUNS_INSERT =
  `INSERT INTO task_runs (${RUN_COLUMNS}) SELECT ` +
  RUN_COLUMN_TYPES.map(([, , cast], i) => (cast ? `c${i + 1}::${cast}` : `c${i + 1}`)).join(", ") +
  " FROM unnest(" +
  RUN_COLUMN_TYPES.map(([, arrayType], i) => `$${i + 1}::${arrayType}`).join(", ") +
  ") AS u(" +
  RUN_COLUMN_TYPES.map((_, i) => `c${i + 1}`).join(", ") +
  ")";

/** The column arrays of RUNS_INSERT, in RUN_COLUMN_TYPES order. */
export function runColumns(runs: readonly TaskRunRecord[]): unknown[][] {
  const count = RUN_COLUMN_TYPES.length;
  const columns: unknown[][] = Array.from({ length: count }, () => new Array<unknown>(runs.length));
  runs.forEach((r, i) => {
    const values = [
      r.executionId,
      r.seq,
      r.task,
      r.kind,
      r.status,
      r.traversal,
      r.attempt,
      r.maxAttempts,
      r.pending,
      r.failedPredecessors,
      r.skippedPredecessors,
      r.rule,
      r.allowFailure,
      `{${r.successors.join(",")}}`,
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
    ];
    for (let c = 0; c < count; c++) columns[c]![i] = values[c];
  });
  return columns;
}

/** Builds the run record from its row. */
export function toRun(row: TaskRunRow): TaskRunRecord {
  return {
    executionId: row.execution_id,
    seq: row.seq,
    task: row.task,
    kind: row.kind as RunKind,
    status: row.status as TaskStatus,
    traversal: row.traversal,
    attempt: row.attempt,
    maxAttempts: row.max_attempts,
    interruptions: row.interruptions,
    pending: row.pending,
    failedPredecessors: row.failed_predecessors,
    skippedPredecessors: row.skipped_predecessors,
    rule: row.rule as SyncRule,
    allowFailure: row.allow_failure,
    successors: row.successors,
    timeout: row.timeout,
    runAfter: row.run_after,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at,
    deadline: row.deadline,
    tokenHash: row.token_hash,
    code: row.code ?? null,
    versionKey: row.version_key ?? null,
    reusedFrom: row.reused_from ?? null,
    target: row.target ?? null,
    undoneAt: row.undone_at ?? null,
    supersededBy: row.superseded_by ?? null,
    item: row.item ?? null,
    output: row.output ?? null,
    error: row.error ?? null,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

/** An `events` row: the fields beyond id, execution, time and type travel in `payload`. */
export interface EventRow {
  id: number;
  execution_id: string;
  at: number;
  type: string;
  payload: Partial<ExecutionEvent>;
}

/** The 4 column arrays of an events insert (execution_id, at, type, payload). */
export function eventColumns(events: readonly ExecutionEvent[]): unknown[][] {
  const columns: unknown[][] = [[], [], [], []];
  for (const event of events) {
    const { id: _id, executionId, at, type, ...payload } = event;
    columns[0]!.push(executionId);
    columns[1]!.push(at);
    columns[2]!.push(type);
    columns[3]!.push(JSON.stringify(payload));
  }
  return columns;
}

/** Builds the event from its row, spreading the payload back into its fields. */
export function toEvent(row: EventRow): ExecutionEvent {
  return {
    id: row.id,
    executionId: row.execution_id,
    at: row.at,
    type: row.type as EventType,
    ...row.payload,
  };
}

/** A `workflows` row. */
export interface WorkflowRow {
  name: string;
  version: number;
  spec: WorkflowSpec;
  origin: string;
  code: string | null;
  created_at: number;
}

/** Builds the workflow record from its row. */
export function toWorkflow(row: WorkflowRow): WorkflowRecord {
  return {
    name: row.name,
    version: row.version,
    spec: row.spec,
    origin: row.origin as Origin,
    code: row.code ?? null,
    createdAt: row.created_at,
  };
}

export { EXECUTION_PATCH_COLUMNS, json, RUN_PATCH_COLUMNS, type PatchColumn } from "../sql-columns.js";

export { TRAVERSAL_COLUMNS, toTraversal, traversalValues, type TraversalRow } from "../traversal-rows.js";
