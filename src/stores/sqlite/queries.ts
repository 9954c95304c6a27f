/**
 * Prepared statements of one connection, and the reads shared by transactions and by the
 * store's reads outside transactions. Every statement is prepared once per connection; SQL
 * built from a shape (which patch fields, which filters) is cached under that shape.
 */
import type Database from "better-sqlite3";
import type {
  ExecutionEvent,
  ExecutionFilter,
  ExecutionRecord,
  TaskRunRecord,
  TraversalRecord,
  WorkflowRecord,
  ExecutionCounts,
} from "../../engine/store.js";
import { zeroCounts } from "../execution-counts.js";
import type { WorkflowSpec } from "../../definition/spec.js";
import type { ExecutionCache } from "../execution-cache.js";
import {
  EXECUTION_STATE_COLUMNS,
  RUN_SELECT,
  toEvent,
  toExecution,
  toRun,
  toTraversal,
  toWorkflow,
  type EventRow,
  type ExecutionRow,
  type SqlValue,
  type TaskRunRow,
  type TraversalRow,
  type WorkflowRow,
} from "./schema.js";

/** A prepared statement of this adapter. */
export type Statement = Database.Statement<SqlValue[], unknown>;

const EXECUTION_STATE = `SELECT ${EXECUTION_STATE_COLUMNS} FROM executions WHERE id = ?`;
const EXECUTION_FULL = "SELECT * FROM executions WHERE id = ?";
const RUN = `SELECT ${RUN_SELECT} FROM task_runs WHERE execution_id = ? AND seq = ?`;
const RUNS = `SELECT ${RUN_SELECT} FROM task_runs WHERE execution_id = ? ORDER BY seq`;
const TRAVERSALS = "SELECT * FROM traversals WHERE execution_id = ? ORDER BY number";
// A live version: a body that succeeded (not a reuse) and was not undone; updated executions only.
const VERSION =
  `SELECT ${RUN_SELECT} FROM task_runs WHERE execution_id = ? AND task = ? AND version_key = ? ` +
  "AND status = 'succeeded' AND reused_from IS NULL AND undone_at IS NULL ORDER BY seq LIMIT 1";
const EVENTS = "SELECT * FROM events WHERE execution_id = ? AND id > ? ORDER BY id";
// MIN over the claim index's leading column: one index probe, not a scan.
// Runs needing code the caller lacks are not its to wait for: `?` is a JSON list of its code ids.
const NEXT_RUN_AFTER =
  "SELECT min(run_after) AS next FROM task_runs WHERE status IN ('ready', 'retrying') " +
  "AND (code IS NULL OR code IN (SELECT value FROM json_each(?)))";
const NEXT_RUN_AFTER_OF = `${NEXT_RUN_AFTER} AND execution_id = ?`;
// Both counts read only an index: executions_by_status, and the partial task_runs_claimable.
const COUNT_EXECUTIONS = "SELECT status, count(*) AS n FROM executions GROUP BY status";
const COUNT_READY =
  "SELECT count(*) AS n FROM task_runs WHERE status IN ('ready', 'retrying') AND run_after <= ?";
const WORKFLOW = "SELECT * FROM workflows WHERE name = ? AND version = ?";
const LATEST_WORKFLOW = "SELECT * FROM workflows WHERE name = ? ORDER BY version DESC LIMIT 1";
// SQLite takes the bare columns of a max() aggregate from the row holding the maximum.
const LATEST_WORKFLOWS =
  "SELECT name, max(version) AS version, spec, origin, code, created_at FROM workflows GROUP BY name ORDER BY name";

/** How a statement answers rows: objects, arrays (raw) or first values (pluck). */
export type RowMode = "object" | "raw" | "pluck";

function withMode(statement: Statement, mode: RowMode): Statement {
  if (mode === "raw") statement.raw(true);
  else if (mode === "pluck") statement.pluck(true);
  return statement;
}

/** Rows per multi-row INSERT: well under SQLite's 32766 bound parameters at 24 columns. */
const INSERT_CHUNK = 64;

export class Queries {
  private readonly statements = new Map<string, Statement>();

  constructor(
    readonly db: Database.Database,
    private readonly cache: ExecutionCache,
  ) {}

  /**
   * The statement for `sql`, prepared on first use. `raw` ones answer rows as arrays (run rows,
   * see RUN_COLUMNS), `pluck` ones their first column; one SQL text is always prepared one way.
   */
  prepare(sql: string, mode: RowMode = "object"): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = withMode(this.db.prepare<SqlValue[], unknown>(sql), mode);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /**
   * The statement cached under `shape`, its SQL built by `build` only on first use: dynamic SQL
   * (which patch fields, which guards) costs a string key per call, not a query string.
   */
  shaped(shape: string, build: () => string, mode: RowMode = "object"): Statement {
    let statement = this.statements.get(shape);
    if (!statement) {
      statement = withMode(this.db.prepare<SqlValue[], unknown>(build()), mode);
      this.statements.set(shape, statement);
    }
    return statement;
  }

  /** Inserts `rows` with as few statements as possible (one per chunk of 64 rows). */
  insertMany(table: string, columns: readonly string[], rows: readonly SqlValue[][]): void {
    for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
      const chunk = rows.slice(start, start + INSERT_CHUNK);
      const statement = this.shaped(`insert:${table}:${chunk.length}`, () => {
        const tuple = `(${columns.map(() => "?").join(", ")})`;
        return `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${chunk.map(() => tuple).join(", ")}`;
      });
      statement.run(...chunk.flat());
    }
  }

  getExecution(id: string): ExecutionRecord | undefined {
    // Leave the immutable JSON out when this process already parsed it under this traversal.
    if (this.cache.has(id)) {
      const row = this.prepare(EXECUTION_STATE).get(id) as ExecutionRow | undefined;
      if (!row) return undefined;
      const cached = this.cache.get(id, row.traversal);
      if (cached) return toExecution(row, cached);
    }
    return this.fullExecution(id);
  }

  /** Rows selected without spec and input become records, reading the JSON only on a cache miss. */
  executionsOf(rows: readonly ExecutionRow[]): ExecutionRecord[] {
    const records: ExecutionRecord[] = [];
    for (const row of rows) {
      const cached = this.cache.get(row.id, row.traversal);
      // On a miss the whole row is read again, so the record stays one consistent snapshot.
      const record = cached ? toExecution(row, cached) : this.fullExecution(row.id);
      if (record) records.push(record);
    }
    return records;
  }

  listExecutions(filter: ExecutionFilter = {}): ExecutionRecord[] {
    const where: string[] = [];
    const values: SqlValue[] = [];
    if (filter.status !== undefined) {
      where.push("status = ?");
      values.push(filter.status);
    }
    if (filter.workflow !== undefined) {
      where.push("workflow = ?");
      values.push(filter.workflow);
    }
    if (filter.parentId !== undefined) {
      where.push("parent_id = ?");
      values.push(filter.parentId);
    }
    if (filter.before !== undefined) {
      // A row-value comparison walks the (created_at, id) index backwards from the cursor.
      where.push("(created_at, id) < (?, ?)");
      values.push(filter.before.createdAt, filter.before.id);
    }
    values.push(filter.limit === undefined ? -1 : Math.max(0, filter.limit));
    const sql =
      `SELECT ${EXECUTION_STATE_COLUMNS} FROM executions` +
      (where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "") +
      " ORDER BY created_at DESC, id DESC LIMIT ?";
    return this.executionsOf(this.prepare(sql).all(...values) as ExecutionRow[]);
  }

  getRun(executionId: string, seq: number): TaskRunRecord | undefined {
    const row = this.prepare(RUN, "raw").get(executionId, seq) as TaskRunRow | undefined;
    return row && toRun(row);
  }

  /** The runs at `seqs`, in that order; seqs without a run are left out. */
  getRuns(executionId: string, seqs: readonly number[]): TaskRunRecord[] {
    const runs: TaskRunRecord[] = [];
    for (const seq of seqs) {
      const run = this.getRun(executionId, seq);
      if (run) runs.push(run);
    }
    return runs;
  }

  listRuns(executionId: string): TaskRunRecord[] {
    return (this.prepare(RUNS, "raw").all(executionId) as TaskRunRow[]).map((row) => toRun(row));
  }

  listEvents(executionId: string, afterId = 0): ExecutionEvent[] {
    return (this.prepare(EVENTS).all(executionId, afterId) as EventRow[]).map(toEvent);
  }

  nextRunAfter(executionId?: string, codes: readonly string[] = []): number | null {
    const json = JSON.stringify(codes);
    const row = (
      executionId === undefined
        ? this.prepare(NEXT_RUN_AFTER).get(json)
        : this.prepare(NEXT_RUN_AFTER_OF).get(json, executionId)
    ) as { next: number | null };
    return row.next;
  }

  /** Executions by status, every status present. */
  countExecutions(): ExecutionCounts {
    const counts = zeroCounts();
    for (const row of this.prepare(COUNT_EXECUTIONS).all() as { status: keyof ExecutionCounts; n: number }[])
      counts[row.status] = row.n;
    return counts;
  }

  /** Ready or retrying runs due by `now`. */
  countReady(now: number): number {
    return (this.prepare(COUNT_READY).get(now) as { n: number }).n;
  }

  listTraversals(executionId: string): TraversalRecord[] {
    return (this.prepare(TRAVERSALS).all(executionId) as TraversalRow[]).map(toTraversal);
  }

  findVersion(executionId: string, task: string, versionKey: string): TaskRunRecord | undefined {
    const row = this.prepare(VERSION, "raw").get(executionId, task, versionKey) as TaskRunRow | undefined;
    return row && toRun(row);
  }

  /** One version of a workflow, or its highest version when `version` is omitted. */
  getWorkflow(name: string, version?: number): WorkflowRecord | undefined {
    const row = (
      version === undefined
        ? this.prepare(LATEST_WORKFLOW).get(name)
        : this.prepare(WORKFLOW).get(name, version)
    ) as WorkflowRow | undefined;
    return row && toWorkflow(row);
  }

  /** The highest version of every workflow, by name. */
  listWorkflows(): WorkflowRecord[] {
    return (this.prepare(LATEST_WORKFLOWS).all() as WorkflowRow[]).map(toWorkflow);
  }

  private fullExecution(id: string): ExecutionRecord | undefined {
    const row = this.prepare(EXECUTION_FULL).get(id) as Required<ExecutionRow> | undefined;
    if (!row) return undefined;
    return toExecution(
      row,
      this.cache.remember(
        row.id,
        row.traversal,
        JSON.parse(row.spec) as WorkflowSpec,
        JSON.parse(row.input) as Record<string, unknown>,
      ),
    );
  }
}
