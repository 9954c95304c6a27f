/**
 * Batches of run compare-and-sets on PostgreSQL: one statement reads them all (`getRunsByKey`)
 * or applies them all (`updateRuns`), whatever the batch's size, so that settling a worker's
 * batch costs a constant number of round trips rather than one or two per run.
 *
 * The changes travel as one array per field (planned per call, see PLANNED_PER_CALL; unnest of
 * arrays, unlike a JSON document, tells the planner how many rows come, so it looks runs up by
 * primary key instead of scanning): each change's guard, a bit mask of
 * the patch fields it sets (a field set to null differs from a field left alone) and their
 * values. Rows are locked in (execution_id, seq) order, as the sync points are, so concurrent
 * batches queue on their first shared row instead of deadlocking; the guard is checked again
 * on the locked row.
 */
import type { RunChange, RunKey, RunPatch } from "../../engine/store.js";
import { plannedPerCall } from "./queries.js";
import { json, runColumnsOf, RUN_PATCH_COLUMNS, type PatchColumn } from "./schema.js";

/** The SQL type of each patch field's values (JSON columns travel as text). */
const PATCH_TYPES: { readonly [K in keyof Required<RunPatch>]: string } = {
  status: "text",
  attempt: "integer",
  runAfter: "bigint",
  leaseOwner: "text",
  leaseExpiresAt: "bigint",
  deadline: "bigint",
  tokenHash: "text",
  output: "text",
  error: "text",
  startedAt: "bigint",
  finishedAt: "bigint",
  maxAttempts: "integer",
  interruptions: "integer",
  pending: "integer",
  failedPredecessors: "integer",
  skippedPredecessors: "integer",
  versionKey: "text",
  reusedFrom: "integer",
  undoneAt: "bigint",
  supersededBy: "text",
};

const FIELDS = Object.keys(PATCH_TYPES) as (keyof RunPatch)[];
const column = (field: keyof RunPatch): PatchColumn => RUN_PATCH_COLUMNS[field];

/** The guard's arrays, then one per patch field. Statuses travel comma-joined (arrays of arrays must be even). */
const ARRAYS: readonly [name: string, type: string][] = [
  ["execution_id", "text"],
  ["seq", "integer"],
  ["traversal", "text"],
  ["statuses", "text"],
  ["attempt", "integer"],
  ["lease_before", "bigint"],
  ["deadline_before", "bigint"],
  ["mask", "integer"],
  ...FIELDS.map((field): [string, string] => [`p_${column(field).column}`, PATCH_TYPES[field]]),
];

/** The compare-and-set condition of a change, on the row `t` and the change `v`. */
const GUARD =
  "t.traversal = v.traversal AND t.status = ANY(string_to_array(v.statuses, ',')) " +
  "AND (v.attempt IS NULL OR t.attempt = v.attempt) " +
  "AND (v.lease_before IS NULL OR t.lease_expires_at < v.lease_before) " +
  "AND (v.deadline_before IS NULL OR t.deadline < v.deadline_before)";

const SETS = FIELDS.map((field, bit) => {
  const { column: name, json: isJson } = column(field);
  const value = isJson ? `v.p_${name}::json` : `v.p_${name}`;
  return `${name} = CASE WHEN v.mask & ${1 << bit} <> 0 THEN ${value} ELSE t.${name} END`;
}).join(",\n  ");

/** `$1..$23`: the arrays of changesColumns. Answers `n` (the change's position, from 1) and the new row. */
export const UPDATE_RUNS = plannedPerCall(`
WITH v AS (
  SELECT * FROM unnest(${ARRAYS.map(([, type], i) => `$${i + 1}::${type}[]`).join(", ")})
    WITH ORDINALITY AS v(${ARRAYS.map(([name]) => name).join(", ")}, n)
), locked AS (
  SELECT t.execution_id, t.seq
  FROM task_runs t JOIN v ON t.execution_id = v.execution_id AND t.seq = v.seq
  WHERE ${GUARD}
  ORDER BY t.execution_id, t.seq
  FOR NO KEY UPDATE OF t
)
UPDATE task_runs t SET
  ${SETS}
FROM v JOIN locked l ON l.execution_id = v.execution_id AND l.seq = v.seq
WHERE t.execution_id = v.execution_id AND t.seq = v.seq AND ${GUARD}
RETURNING v.n, ${runColumnsOf("t")}`);

/** `$1`, `$2`: execution ids and seqs. Answers `n` (the key's index, from 1) and the row. */
export const RUNS_BY_KEY = plannedPerCall(
  `SELECT k.n, ${runColumnsOf("t")} ` +
    "FROM unnest($1::text[], $2::integer[]) WITH ORDINALITY AS k(execution_id, seq, n) " +
    "JOIN task_runs t ON t.execution_id = k.execution_id AND t.seq = k.seq",
);

/** The two arrays of RUNS_BY_KEY. */
export function keyColumns(keys: readonly RunKey[]): [string[], number[]] {
  return [keys.map((key) => key.executionId), keys.map((key) => key.seq)];
}

/** The arrays of UPDATE_RUNS for `changes`, in the order of ARRAYS. */
export function changesColumns(changes: readonly RunChange[]): unknown[][] {
  const columns: unknown[][] = ARRAYS.map(() => new Array<unknown>(changes.length));
  changes.forEach(({ guard, patch }, i) => {
    columns[0]![i] = guard.executionId;
    columns[1]![i] = guard.seq;
    columns[2]![i] = guard.traversal;
    columns[3]![i] = guard.status.join(",");
    columns[4]![i] = guard.attempt ?? null;
    columns[5]![i] = guard.leaseExpiresBefore ?? null;
    columns[6]![i] = guard.deadlineBefore ?? null;
    let mask = 0;
    FIELDS.forEach((field, bit) => {
      const value = patch[field];
      // Undefined means "unchanged", as an absent key of a Partial does.
      const set = value !== undefined;
      if (set) mask |= 1 << bit;
      columns[8 + bit]![i] = !set ? null : column(field).json ? json(value) : value;
    });
    columns[7]![i] = mask;
  });
  return columns;
}

/**
 * The changes split into rounds, one statement each: an UPDATE changes a row at most once, so
 * a run named again goes to the next round, which sees the first change (the port applies
 * changes in order). Answers the indexes of each round's changes.
 */
export function changeRounds(changes: readonly RunChange[]): number[][] {
  const rounds: number[][] = [];
  const seen = new Map<string, number>();
  changes.forEach(({ guard }, i) => {
    const key = `${guard.seq}\u0000${guard.executionId}`;
    const round = seen.get(key) ?? 0;
    seen.set(key, round + 1);
    (rounds[round] ??= []).push(i);
  });
  return rounds;
}
