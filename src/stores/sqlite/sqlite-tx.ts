/**
 * The StoreTx of the SQLite adapter: every method is one or two statements on the writer
 * connection, answered synchronously inside the `BEGIN IMMEDIATE` transaction that
 * SqliteStore opened. Compare-and-set guards are WHERE clauses, so a guard is checked and
 * applied by one statement; run transitions, the hot path, live in run-writes.ts.
 */
import { assertNameLengths } from "../../definition/names.js";
import type { ExecutionPatch, StoreTx } from "../../engine/store.js";
import type { Queries } from "./queries.js";
import type { RunWrites } from "./run-writes.js";
import { assignments, placeholders, setList } from "./sql.js";
import {
  EVENT_INSERT_COLUMNS,
  EXECUTION_INSERT_COLUMNS,
  EXECUTION_PATCH_COLUMNS,
  EXECUTION_STATE_COLUMNS,
  RUN_SELECT,
  TRAVERSAL_COLUMNS,
  eventValues,
  executionValues,
  toRun,
  traversalValues,
  type ExecutionRow,
  type TaskRunRow,
} from "./schema.js";

const INSERT_EXECUTION = `INSERT INTO executions (${EXECUTION_INSERT_COLUMNS}) VALUES (${placeholders(
  EXECUTION_INSERT_COLUMNS.split(",").length,
)})`;
const INSERT_WORKFLOW =
  "INSERT INTO workflows (name, version, spec, origin, code, created_at) VALUES (?, ?, ?, ?, ?, ?)";
const RECORD_FAILURE =
  "UPDATE executions SET failures = failures + ?, error = coalesce(error, ?) WHERE id = ?";
const BY_TOKEN = `SELECT ${RUN_SELECT} FROM task_runs WHERE token_hash = ? LIMIT 1`;
const EXPIRED_LEASES = `SELECT ${RUN_SELECT} FROM task_runs WHERE status = 'running' AND lease_expires_at < ? ORDER BY lease_expires_at LIMIT ?`;
const PASSED_DEADLINES = `SELECT ${RUN_SELECT} FROM task_runs WHERE status = 'waiting' AND deadline < ? ORDER BY deadline LIMIT ?`;
const ALLOCATE_SEQS = "UPDATE executions SET next_seq = next_seq + ? WHERE id = ? RETURNING next_seq";
const UPDATE_TRAVERSAL_STATUS = "UPDATE traversals SET status = ? WHERE execution_id = ? AND id = ?";
const UPDATE_TRAVERSAL_FINISHED = "UPDATE traversals SET finished_at = ? WHERE execution_id = ? AND id = ?";
const OVERDUE =
  `SELECT ${EXECUTION_STATE_COLUMNS} FROM executions ` +
  "WHERE status = 'running' AND deadline IS NOT NULL AND deadline < ? ORDER BY deadline LIMIT ?";

/**
 * Builds the StoreTx over the writer's statements; run transitions go through `runs`.
 * `assertOpen` throws when the transaction has ended, so a StoreTx kept past its transaction
 * cannot write outside the write lock.
 */
export function createSqliteTx(q: Queries, runs: RunWrites, assertOpen: () => void): StoreTx {
  return {
    insertExecution(execution) {
      assertOpen();
      assertNameLengths(execution.workflow, Object.keys(execution.spec.tasks));
      q.prepare(INSERT_EXECUTION).run(...executionValues(execution));
    },
    getExecution(id) {
      assertOpen();
      return q.getExecution(id);
    },
    updateExecution(id, guard, patch: ExecutionPatch) {
      assertOpen();
      const set = assignments(patch, EXECUTION_PATCH_COLUMNS);
      const hasPatch = set.values.length > 0;
      const values = set.values;
      values.push(id, ...guard.status);
      if (guard.traversal !== undefined) values.push(guard.traversal);
      const shape = `execution:${set.shape}|${guard.status.length}${guard.traversal !== undefined ? "t" : ""}`;
      const statement = q.shaped(shape, () => {
        const where =
          `id = ? AND status IN (${placeholders(guard.status.length)})` +
          (guard.traversal !== undefined ? " AND traversal = ?" : "");
        // An empty patch still answers whether the guard holds.
        return hasPatch
          ? `UPDATE executions SET ${setList(set.shape, EXECUTION_PATCH_COLUMNS)} WHERE ${where}`
          : `SELECT 1 FROM executions WHERE ${where}`;
      });
      return hasPatch ? statement.run(...values).changes > 0 : statement.get(...values) !== undefined;
    },
    insertRuns(records) {
      assertOpen();
      runs.insertRuns(records);
    },
    getRun(executionId, seq) {
      assertOpen();
      return runs.current(executionId, seq);
    },
    getRunsByKey(keys) {
      assertOpen();
      return runs.getRunsByKey(keys);
    },
    listRuns(executionId) {
      assertOpen();
      return q.listRuns(executionId);
    },
    updateRun(guard, patch) {
      assertOpen();
      return runs.updateRun(guard, patch);
    },
    updateRuns(changes) {
      assertOpen();
      return runs.updateRuns(changes);
    },
    decrementSyncPoints(deltas) {
      assertOpen();
      return runs.decrementSyncPoints(deltas);
    },
    claimRuns(request) {
      assertOpen();
      return runs.claimRuns(request);
    },
    recordFailure(executionId, error, count = 1) {
      assertOpen();
      q.prepare(RECORD_FAILURE).run(count, JSON.stringify(error), executionId);
    },
    findRunByToken(tokenHash) {
      assertOpen();
      const row = q.prepare(BY_TOKEN, "raw").get(tokenHash) as TaskRunRow | undefined;
      return row && toRun(row);
    },
    findExpiredRuns(now, limit) {
      assertOpen();
      const leases = q.prepare(EXPIRED_LEASES, "raw").all(now, limit) as TaskRunRow[];
      const rest = limit - leases.length;
      const deadlines = rest > 0 ? (q.prepare(PASSED_DEADLINES, "raw").all(now, rest) as TaskRunRow[]) : [];
      return [...leases, ...deadlines].map((row) => toRun(row));
    },
    findOverdueExecutions(now, limit) {
      assertOpen();
      return q.executionsOf(q.prepare(OVERDUE).all(now, limit) as ExecutionRow[]);
    },
    appendEvents(events) {
      assertOpen();
      q.insertMany("events", EVENT_INSERT_COLUMNS, events.map(eventValues));
    },
    allocateSeqs(executionId, count) {
      assertOpen();
      const row = q.prepare(ALLOCATE_SEQS).get(count, executionId) as { next_seq: number } | undefined;
      if (!row) throw new Error(`execution ${executionId} does not exist`);
      return row.next_seq - count;
    },
    insertTraversal(traversal) {
      assertOpen();
      q.insertMany("traversals", TRAVERSAL_COLUMNS, [traversalValues(traversal)]);
    },
    listTraversals(executionId) {
      assertOpen();
      return q.listTraversals(executionId);
    },
    updateTraversal(executionId, id, patch) {
      assertOpen();
      if (patch.status !== undefined) q.prepare(UPDATE_TRAVERSAL_STATUS).run(patch.status, executionId, id);
      if (patch.finishedAt !== undefined)
        q.prepare(UPDATE_TRAVERSAL_FINISHED).run(patch.finishedAt, executionId, id);
    },
    getWorkflow(name, version) {
      assertOpen();
      return q.getWorkflow(name, version);
    },
    insertWorkflow(workflow) {
      assertOpen();
      assertNameLengths(workflow.name, Object.keys(workflow.spec.tasks));
      q.prepare(INSERT_WORKFLOW).run(
        workflow.name,
        workflow.version,
        JSON.stringify(workflow.spec),
        workflow.origin,
        workflow.code,
        workflow.createdAt,
      );
    },
  };
}
