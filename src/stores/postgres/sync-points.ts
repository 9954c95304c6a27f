/**
 * Sync points on PostgreSQL (the Heat seed's SyncPoint): one statement decrements every
 * successor of a finished run and answers those whose `pending` it brought to zero.
 *
 * Why this is exactly-once at every isolation level: each successor row is locked before it
 * is changed, in (execution_id, seq) order, so two completions sharing successors queue on
 * the first shared row instead of deadlocking. Under READ COMMITTED the second one, once the
 * first committed, re-reads the row's latest version (PostgreSQL's EvalPlanQual recheck) and
 * decrements from there: only one of them can see `pending` go from 1 to 0. Under REPEATABLE
 * READ and SERIALIZABLE it fails with SQLSTATE 40001 instead, and PostgresStore runs the whole
 * transaction again from a fresh snapshot.
 */
import type { SyncPointDelta } from "../../engine/store.js";
import { runColumnsOf } from "./schema.js";

/**
 * `$1..$5`: execution ids, seqs, traversals, failed and skipped counts, one element per
 * successor (each successor at most once per statement). The guard (traversal, blocked,
 * pending > 0) is checked when the row is locked; a row that fails it is left alone.
 */
export const DECREMENT_SYNC_POINTS = `
WITH d AS (
  SELECT * FROM unnest($1::text[], $2::integer[], $3::text[], $4::integer[], $5::integer[])
    AS d(execution_id, seq, traversal, failed, skipped)
), locked AS (
  SELECT t.execution_id, t.seq, d.failed, d.skipped
  FROM task_runs t JOIN d ON t.execution_id = d.execution_id AND t.seq = d.seq
  WHERE t.traversal = d.traversal AND t.status = 'blocked' AND t.pending > 0
  ORDER BY t.execution_id, t.seq
  FOR NO KEY UPDATE OF t
), changed AS (
  UPDATE task_runs t SET
    pending = t.pending - 1,
    failed_predecessors = t.failed_predecessors + l.failed,
    skipped_predecessors = t.skipped_predecessors + l.skipped
  FROM locked l
  WHERE t.execution_id = l.execution_id AND t.seq = l.seq AND t.status = 'blocked' AND t.pending > 0
  RETURNING ${runColumnsOf("t")}
)
SELECT * FROM changed WHERE pending = 0`;

/**
 * The parameter arrays of DECREMENT_SYNC_POINTS, sorted by (execution id, seq) so that rows are
 * locked in one global order. A successor named twice in one call (the engine never does, the
 * port allows it) goes to a second round: an UPDATE changes a row once per statement, and each
 * delta must be applied on its own, stopping at zero, as the reference adapter does.
 */
export function syncPointRounds(deltas: readonly SyncPointDelta[]): unknown[][][] {
  const sorted = [...deltas].sort((a, b) =>
    a.executionId === b.executionId ? a.seq - b.seq : a.executionId < b.executionId ? -1 : 1,
  );
  const rounds: SyncPointDelta[][] = [];
  const seen = new Map<string, number>();
  for (const delta of sorted) {
    const key = `${delta.executionId}/${delta.seq}`;
    const round = seen.get(key) ?? 0;
    seen.set(key, round + 1);
    (rounds[round] ??= []).push(delta);
  }
  return rounds.map((round) => [
    round.map((d) => d.executionId),
    round.map((d) => d.seq),
    round.map((d) => d.traversal),
    round.map((d) => d.failed),
    round.map((d) => d.skipped),
  ]);
}
