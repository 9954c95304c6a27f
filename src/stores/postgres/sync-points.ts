/**
 * Sync points on PostgreSQL (the Heat seed's SyncPoint): one statement decrements every
 * successor of the runs that ended together and answers those whose `pending` it brought to zero.
 *
 * Why this is exactly-once at every isolation level: each successor row is locked before it
 * is changed, in (execution_id, seq) order, so two completions sharing successors queue on
 * the first shared row instead of deadlocking. Under READ COMMITTED the second one, once the
 * first committed, re-reads the row's latest version (PostgreSQL's EvalPlanQual recheck) and
 * decrements from there: only one of them can see `pending` go from 1 to 0. Under REPEATABLE
 * READ and SERIALIZABLE it fails with SQLSTATE 40001 instead, and PostgresStore runs the whole
 * transaction again from a fresh snapshot.
 */
import type { SummedDelta } from "../memory/run-records.js";
import { plannedPerCall } from "./queries.js";
import { runColumnsOf } from "./schema.js";

/**
 * `$1..$6`: execution ids, seqs, traversals, counts, failed and skipped sums, one element per
 * successor (see sumDeltas: each successor at most once per statement). The guard (traversal,
 * blocked or expanded, pending > 0) is checked when the row is locked; a row that fails it is left alone.
 */
export const DECREMENT_SYNC_POINTS = plannedPerCall(`
WITH d AS (
  SELECT * FROM unnest($1::text[], $2::integer[], $3::text[], $4::integer[], $5::integer[], $6::integer[])
    AS d(execution_id, seq, traversal, count, failed, skipped)
), locked AS (
  SELECT t.execution_id, t.seq, d.count, d.failed, d.skipped
  FROM task_runs t JOIN d ON t.execution_id = d.execution_id AND t.seq = d.seq
  WHERE t.traversal = d.traversal AND t.status IN ('blocked', 'expanded') AND t.pending > 0
  ORDER BY t.execution_id, t.seq
  FOR NO KEY UPDATE OF t
), changed AS (
  UPDATE task_runs t SET
    pending = greatest(t.pending - l.count, 0),
    failed_predecessors = t.failed_predecessors + l.failed,
    skipped_predecessors = t.skipped_predecessors + l.skipped
  FROM locked l
  WHERE t.execution_id = l.execution_id AND t.seq = l.seq AND t.status IN ('blocked', 'expanded') AND t.pending > 0
  RETURNING ${runColumnsOf("t")}
)
SELECT * FROM changed WHERE pending = 0`);

/**
 * One successor's sync point (a chain's step): `$1..$6` as one element of DECREMENT_SYNC_POINTS.
 * A single row needs no lock order, and this short statement keeps a prepared plan.
 */
export const DECREMENT_SYNC_POINT =
  "UPDATE task_runs SET pending = greatest(pending - $4, 0), failed_predecessors = failed_predecessors + $5, " +
  "skipped_predecessors = skipped_predecessors + $6 " +
  "WHERE execution_id = $1 AND seq = $2 AND traversal = $3 AND status IN ('blocked', 'expanded') AND pending > 0 " +
  `RETURNING ${runColumnsOf("task_runs")}`;

/** The parameter arrays of DECREMENT_SYNC_POINTS for deltas already summed per successor. */
export function syncPointColumns(deltas: readonly SummedDelta[]): unknown[][] {
  return [
    deltas.map((d) => d.executionId),
    deltas.map((d) => d.seq),
    deltas.map((d) => d.traversal),
    deltas.map((d) => d.count),
    deltas.map((d) => d.failed),
    deltas.map((d) => d.skipped),
  ];
}
