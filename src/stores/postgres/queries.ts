/**
 * The reads shared by transactions and by the store's reads outside transactions, over any
 * Queryable (the pool, or the client of one transaction). Every statement is a named prepared
 * statement: PostgreSQL parses and plans it once per connection, and SQL built from a shape
 * (which patch fields, which filters) gets one name per shape.
 */
import type pg from "pg";
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
import type { ExecutionCache } from "../execution-cache.js";
import {
  EVENT_COLUMNS,
  EXECUTION_COLUMNS,
  EXECUTION_STATE_COLUMNS,
  RUN_COLUMNS,
  TRAVERSAL_COLUMNS,
  WORKFLOW_COLUMNS,
  toEvent,
  toExecution,
  toRun,
  toTraversal,
  toWorkflow,
  type EventRow,
  type ExecutionRow,
  type TaskRunRow,
  type TraversalRow,
  type WorkflowRow,
} from "./schema.js";

/** What runs a query: a pg.Pool or a pg.PoolClient. */
export interface Queryable {
  query<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
}

const names = new Map<string, string>();

/**
 * Statements joined to a batch of any size (an array parameter), left unnamed so that each run
 * is planned for its own batch, on the tables as they are now. A named statement soon runs a
 * generic plan, costed once for unknown batch sizes on the tables as they were then: made while
 * a new schema held a few runs, it scans every run for every batch element once they are many
 * (a 10,000-successor fan-out then read 10,000 x 10,000 rows). Parsing anew costs far less.
 */
const PLANNED_PER_CALL = new Set<string>();

/** Marks `text` as planned for each call (see PLANNED_PER_CALL); answers it. */
export function plannedPerCall(text: string): string {
  PLANNED_PER_CALL.add(text);
  return text;
}

/**
 * A query config naming its text: the same text always gets the same name, so each
 * connection prepares it once. Texts come from a bounded set of shapes, never from values.
 */
export function statement(text: string, values: readonly unknown[] = []): pg.QueryConfig {
  if (PLANNED_PER_CALL.has(text)) return { text, values: values as unknown[] };
  let name = names.get(text);
  if (name === undefined) {
    name = `weft_${names.size}`;
    names.set(text, name);
  }
  return { name, text, values: values as unknown[] };
}

const EXECUTION_STATE = `SELECT ${EXECUTION_STATE_COLUMNS} FROM executions WHERE id = $1`;
const EXECUTION_FULL = `SELECT ${EXECUTION_COLUMNS} FROM executions WHERE id = $1`;
const RUN = `SELECT ${RUN_COLUMNS} FROM task_runs WHERE execution_id = $1 AND seq = $2`;
const RUNS_AT = plannedPerCall(
  `SELECT ${RUN_COLUMNS} FROM task_runs WHERE execution_id = $1 AND seq = ANY($2::integer[])`,
);
const RUNS = `SELECT ${RUN_COLUMNS} FROM task_runs WHERE execution_id = $1 ORDER BY seq`;
const TRAVERSALS = `SELECT ${TRAVERSAL_COLUMNS.join(", ")} FROM traversals WHERE execution_id = $1 ORDER BY number`;
// A live version: a body that succeeded (not a reuse) and was not undone; updated executions only.
const VERSION =
  `SELECT ${RUN_COLUMNS} FROM task_runs WHERE execution_id = $1 AND task = $2 AND version_key = $3 ` +
  "AND status = 'succeeded' AND reused_from IS NULL AND undone_at IS NULL ORDER BY seq LIMIT 1";
const EVENTS = `SELECT ${EVENT_COLUMNS} FROM events WHERE execution_id = $1 AND id > $2 ORDER BY id`;
// min() over the claim index's leading column; runs needing code the caller lacks ($1: its code
// ids) are skipped, as its claims would skip them.
const NEXT_RUN_AFTER =
  "SELECT min(run_after) AS next FROM task_runs WHERE status IN ('ready', 'retrying') " +
  "AND (code IS NULL OR code = ANY($1::text[]))";
const NEXT_RUN_AFTER_OF = `${NEXT_RUN_AFTER} AND execution_id = $2`;
// Both counts read only an index: executions_by_status, and the partial task_runs_claimable.
const COUNT_EXECUTIONS = "SELECT status, count(*)::float8 AS n FROM executions GROUP BY status";
const COUNT_READY =
  "SELECT count(*)::float8 AS n FROM task_runs WHERE status IN ('ready', 'retrying') AND run_after <= $1";
const WORKFLOW = `SELECT ${WORKFLOW_COLUMNS} FROM workflows WHERE name = $1 AND version = $2`;
const LATEST_WORKFLOW = `SELECT ${WORKFLOW_COLUMNS} FROM workflows WHERE name = $1 ORDER BY version DESC LIMIT 1`;
const LATEST_WORKFLOWS = `SELECT DISTINCT ON (name) ${WORKFLOW_COLUMNS} FROM workflows ORDER BY name, version DESC`;
/**
 * Reads inside a transaction that the engine decides on (the execution, all runs of one
 * execution) lock their rows: under READ COMMITTED the statement then answers the latest
 * committed versions and nothing changes them before the commit, which is what the engine,
 * written against single-writer stores, relies on (a cancel must see the run a concurrent
 * completion just made ready). NO KEY UPDATE does not block foreign-key checks of inserts.
 */
const LOCK = " FOR NO KEY UPDATE";

/** The reads of one Queryable; inside a transaction (`locking`) decision reads lock their rows. */
export class Queries {
  constructor(
    readonly db: Queryable,
    private readonly cache: ExecutionCache,
    /** Whether reads for decisions lock their rows (inside a transaction). */
    private readonly locking = false,
  ) {}

  async rows<R extends pg.QueryResultRow>(text: string, values: readonly unknown[] = []): Promise<R[]> {
    return (await this.db.query<R>(statement(text, values))).rows;
  }

  async getExecution(id: string): Promise<ExecutionRecord | undefined> {
    const lock = this.locking ? LOCK : "";
    // Leave the immutable JSON out when this process already read it under this traversal.
    if (this.cache.has(id)) {
      const [row] = await this.rows<ExecutionRow>(EXECUTION_STATE + lock, [id]);
      if (!row) return undefined;
      const cached = this.cache.get(id, row.traversal);
      if (cached) return toExecution(row, cached);
    }
    const [row] = await this.rows<Required<ExecutionRow>>(EXECUTION_FULL + lock, [id]);
    return row && this.full(row);
  }

  /** Rows selected without spec and input become records, reading the JSON only on a cache miss. */
  async executionsOf(rows: readonly ExecutionRow[]): Promise<ExecutionRecord[]> {
    const records: ExecutionRecord[] = [];
    for (const row of rows) {
      const cached = this.cache.get(row.id, row.traversal);
      if (cached) {
        records.push(toExecution(row, cached));
        continue;
      }
      // On a miss the whole row is read again, so the record stays one consistent snapshot.
      const [full] = await this.rows<Required<ExecutionRow>>(EXECUTION_FULL, [row.id]);
      if (full) records.push(this.full(full));
    }
    return records;
  }

  async listExecutions(filter: ExecutionFilter = {}): Promise<ExecutionRecord[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    if (filter.status !== undefined) {
      values.push(filter.status);
      where.push(`status = $${values.length}`);
    }
    if (filter.workflow !== undefined) {
      values.push(filter.workflow);
      where.push(`workflow = $${values.length}`);
    }
    if (filter.parentId !== undefined) {
      values.push(filter.parentId);
      where.push(`parent_id = $${values.length}`);
    }
    if (filter.before !== undefined) {
      // A row-value comparison walks the (created_at, id) index from the cursor on.
      values.push(filter.before.createdAt, filter.before.id);
      where.push(`(created_at, id) < ($${values.length - 1}, $${values.length})`);
    }
    // LIMIT NULL is no limit.
    values.push(filter.limit === undefined ? null : Math.max(0, filter.limit));
    const sql =
      `SELECT ${EXECUTION_STATE_COLUMNS} FROM executions` +
      (where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "") +
      ` ORDER BY created_at DESC, id DESC LIMIT $${values.length}`;
    return this.executionsOf(await this.rows<ExecutionRow>(sql, values));
  }

  async getRun(executionId: string, seq: number): Promise<TaskRunRecord | undefined> {
    const [row] = await this.rows<TaskRunRow>(RUN, [executionId, seq]);
    return row && toRun(row);
  }

  /** The runs at `seqs`, in that order; seqs without a run are left out. */
  async getRuns(executionId: string, seqs: readonly number[]): Promise<TaskRunRecord[]> {
    const rows = await this.rows<TaskRunRow>(RUNS_AT, [executionId, seqs]);
    const bySeq = new Map(rows.map((row) => [row.seq, row]));
    const runs: TaskRunRecord[] = [];
    for (const seq of seqs) {
      const row = bySeq.get(seq);
      if (row) runs.push(toRun(row));
    }
    return runs;
  }

  async listRuns(executionId: string): Promise<TaskRunRecord[]> {
    return (await this.rows<TaskRunRow>(RUNS + (this.locking ? LOCK : ""), [executionId])).map(toRun);
  }

  async listEvents(executionId: string, afterId = 0): Promise<ExecutionEvent[]> {
    return (await this.rows<EventRow>(EVENTS, [executionId, afterId])).map(toEvent);
  }

  async nextRunAfter(executionId?: string, codes: readonly string[] = []): Promise<number | null> {
    const [row] =
      executionId === undefined
        ? await this.rows<{ next: number | null }>(NEXT_RUN_AFTER, [codes])
        : await this.rows<{ next: number | null }>(NEXT_RUN_AFTER_OF, [codes, executionId]);
    return row?.next ?? null;
  }

  /** Executions by status, every status present. */
  async countExecutions(): Promise<ExecutionCounts> {
    const counts = zeroCounts();
    for (const row of await this.rows<{ status: keyof ExecutionCounts; n: number }>(COUNT_EXECUTIONS))
      counts[row.status] = row.n;
    return counts;
  }

  /** Ready or retrying runs due by `now`. */
  async countReady(now: number): Promise<number> {
    const [row] = await this.rows<{ n: number }>(COUNT_READY, [now]);
    return row?.n ?? 0;
  }

  async getWorkflow(name: string, version?: number): Promise<WorkflowRecord | undefined> {
    const [row] =
      version === undefined
        ? await this.rows<WorkflowRow>(LATEST_WORKFLOW, [name])
        : await this.rows<WorkflowRow>(WORKFLOW, [name, version]);
    return row && toWorkflow(row);
  }

  async listTraversals(executionId: string): Promise<TraversalRecord[]> {
    return (await this.rows<TraversalRow>(TRAVERSALS, [executionId])).map(toTraversal);
  }

  async findVersion(
    executionId: string,
    task: string,
    versionKey: string,
  ): Promise<TaskRunRecord | undefined> {
    const row = (await this.rows<TaskRunRow>(VERSION, [executionId, task, versionKey]))[0];
    return row && toRun(row);
  }

  async listWorkflows(): Promise<WorkflowRecord[]> {
    return (await this.rows<WorkflowRow>(LATEST_WORKFLOWS)).map(toWorkflow);
  }

  private full(row: Required<ExecutionRow>): ExecutionRecord {
    return toExecution(row, this.cache.remember(row.id, row.traversal, row.spec, row.input));
  }
}
