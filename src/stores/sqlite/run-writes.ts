/**
 * The transitions of task runs: compare-and-set updates, sync-point decrements and claims.
 * The hot path of the store: each is one statement on a row the RunCache already holds, so
 * nothing is read back. A cache miss reads the row once; a cache that disagrees with SQLite
 * (the guarded UPDATE changed nothing) is dropped and the statement redone with RETURNING.
 */
import type {
  ClaimRequest,
  RunChange,
  RunGuard,
  RunKey,
  RunPatch,
  SyncPointDelta,
  TaskRunRecord,
} from "../../engine/store.js";
import { copyRun, matches, sumDeltas, type SummedDelta } from "../memory/run-records.js";
import { countsDown } from "../../engine/states.js";
import type { Queries } from "./queries.js";
import type { RunCache } from "./run-cache.js";
import { assignments, placeholders, setList } from "./sql.js";
import {
  RUN_COLUMNS,
  RUN_PATCH_COLUMNS,
  RUN_PENDING,
  RUN_STATE_SELECT,
  RUN_STATE_SEQ_SELECT,
  runValues,
  toRun,
  type SqlValue,
  type TaskRunRow,
} from "./schema.js";

// Atomic row updates: two transactions can never both bring one sync point to zero (the Heat
// seed's SyncPoint); the guard stays in the WHERE clause even when the cache checked it.
const DECREMENT =
  "UPDATE task_runs SET pending = max(pending - ?, 0), failed_predecessors = failed_predecessors + ?, " +
  "skipped_predecessors = skipped_predecessors + ? " +
  "WHERE execution_id = ? AND traversal = ? AND status IN ('blocked', 'expanded') AND pending > 0 AND ";
const DECREMENT_ONE = `${DECREMENT}seq = ?`;
const DECREMENT_ONE_READ = `${DECREMENT}seq = ? RETURNING ${RUN_STATE_SELECT}`;
// The successors of one finished run in one statement (a fan-out of 10,000 is one update).
const DECREMENT_MANY = `${DECREMENT}seq IN (SELECT value FROM json_each(?)) RETURNING ${RUN_STATE_SEQ_SELECT}`;
/** From this many successors on, one statement for all beats one cached update each. */
const MANY = 16;
// Claiming: the partial claim index in (run_after, seq) order, then each row by its key.
// SQLite has a single writer, so nothing else can claim the rows in between.
// Runs needing code (a builder function's) are claimed only by those that have it: `?` is a JSON list.
const CLAIMABLE =
  "SELECT execution_id, seq FROM task_runs WHERE status IN ('ready', 'retrying') AND run_after <= ? " +
  "AND (code IS NULL OR code IN (SELECT value FROM json_each(?)))";
const CLAIMABLE_ALL = `${CLAIMABLE} ORDER BY run_after, seq LIMIT ?`;
const CLAIMABLE_OF = `${CLAIMABLE} AND execution_id = ? ORDER BY run_after, seq LIMIT ?`;
const CLAIM =
  "UPDATE task_runs SET status = 'running', attempt = attempt + 1, lease_owner = ?, lease_expires_at = ?, " +
  "started_at = ? WHERE execution_id = ? AND seq = ? AND status IN ('ready', 'retrying')";

/** Appends a guard's values after the patch's; answers its shape. */
function guardValues(guard: RunGuard, values: SqlValue[]): string {
  values.push(guard.executionId, guard.seq, guard.traversal, ...guard.status);
  let shape = `${guard.status.length}`;
  if (guard.attempt !== undefined) {
    shape += "a";
    values.push(guard.attempt);
  }
  if (guard.leaseExpiresBefore !== undefined) {
    shape += "l";
    values.push(guard.leaseExpiresBefore);
  }
  if (guard.deadlineBefore !== undefined) {
    shape += "d";
    values.push(guard.deadlineBefore);
  }
  return shape;
}

/** The WHERE clause of a guard shape, its terms in `guardValues` order. */
function guardSql(shape: string): string {
  const terms = [
    "execution_id = ?",
    "seq = ?",
    "traversal = ?",
    `status IN (${placeholders(parseInt(shape, 10))})`,
  ];
  if (shape.includes("a")) terms.push("attempt = ?");
  if (shape.includes("l")) terms.push("lease_expires_at < ?");
  if (shape.includes("d")) terms.push("deadline < ?");
  return terms.join(" AND ");
}

function sameGroup(a: SummedDelta, b: SummedDelta): boolean {
  return (
    a.executionId === b.executionId &&
    a.traversal === b.traversal &&
    a.count === b.count &&
    a.failed === b.failed &&
    a.skipped === b.skipped
  );
}

/** The run transitions of one connection, over its statements and the process's RunCache. */
export class RunWrites {
  constructor(
    private readonly q: Queries,
    private readonly cache: RunCache,
  ) {}

  insertRuns(runs: readonly TaskRunRecord[]): void {
    this.q.insertMany("task_runs", RUN_COLUMNS, runs.map(runValues));
    for (const run of runs) this.cache.set(copyRun(run));
  }

  /** The run as stored now: from the cache, else read once. */
  current(executionId: string, seq: number): TaskRunRecord | undefined {
    const cached = this.cache.get(executionId, seq);
    if (cached) return cached;
    const run = this.q.getRun(executionId, seq);
    if (run) this.cache.set(run);
    return run;
  }

  /** The runs at `keys`, in that order, from the cache where it holds them. */
  getRunsByKey(keys: readonly RunKey[]): (TaskRunRecord | undefined)[] {
    return keys.map((key) => this.current(key.executionId, key.seq));
  }

  /** Each change in order: one cached, prepared UPDATE each, inside the caller's transaction. */
  updateRuns(changes: readonly RunChange[]): (TaskRunRecord | null)[] {
    return changes.map((change) => this.updateRun(change.guard, change.patch));
  }

  updateRun(guard: RunGuard, patch: RunPatch): TaskRunRecord | null {
    const run = this.current(guard.executionId, guard.seq);
    if (!run || !matches(run, guard)) return null;
    const set = assignments(patch, RUN_PATCH_COLUMNS);
    if (set.values.length === 0) return copyRun(run);
    const values = set.values;
    const shape = guardValues(guard, values);
    const update = this.q.shaped(
      `run:${set.shape}|${shape}`,
      () => `UPDATE task_runs SET ${setList(set.shape, RUN_PATCH_COLUMNS)} WHERE ${guardSql(shape)}`,
    );
    if (update.run(...values).changes === 0) return this.updateRunFromSqlite(guard, set.shape, values, shape);
    const updated = copyRun(run);
    for (const field in patch) {
      const value = patch[field as keyof RunPatch];
      if (value !== undefined) (updated as unknown as Record<string, unknown>)[field] = value;
    }
    this.cache.set(updated);
    return updated;
  }

  decrementSyncPoints(deltas: readonly SyncPointDelta[]): TaskRunRecord[] {
    const resolved: TaskRunRecord[] = [];
    // Summed per successor, so each seq comes once: a successor of several runs that ended
    // together is changed by one statement.
    const summed = sumDeltas(deltas);
    for (let start = 0; start < summed.length;) {
      // The engine passes the successors of one finished run together: same execution,
      // traversal and counters.
      const first = summed[start]!;
      let end = start + 1;
      while (end < summed.length && sameGroup(summed[end]!, first)) end += 1;
      const group = summed.slice(start, end);
      if (group.length >= MANY)
        resolved.push(
          ...this.decrementMany(
            first,
            group.map((d) => d.seq),
          ),
        );
      else for (const delta of group) this.decrementOne(delta, resolved);
      start = end;
    }
    return resolved;
  }

  claimRuns(request: ClaimRequest): TaskRunRecord[] {
    const { owner, leaseExpiresAt, now, executionId } = request;
    const limit = Math.max(0, request.limit);
    const codes = JSON.stringify(request.codes ?? []);
    const keys = (
      executionId === undefined
        ? this.q.prepare(CLAIMABLE_ALL, "raw").all(now, codes, limit)
        : this.q.prepare(CLAIMABLE_OF, "raw").all(now, codes, executionId, limit)
    ) as [string, number][];
    const claim = this.q.prepare(CLAIM);
    const claimed: TaskRunRecord[] = [];
    for (const [id, seq] of keys) {
      let run = this.current(id, seq);
      if (!run || (run.status !== "ready" && run.status !== "retrying")) {
        this.cache.clear(); // SQLite says claimable, the cache does not: believe SQLite
        run = this.current(id, seq)!;
      }
      claim.run(owner, leaseExpiresAt, now, id, seq);
      const next = copyRun(run);
      next.status = "running";
      next.attempt += 1;
      next.leaseOwner = owner;
      next.leaseExpiresAt = leaseExpiresAt;
      next.startedAt = now;
      this.cache.set(next);
      claimed.push(next);
    }
    return claimed;
  }

  private decrementOne(d: SummedDelta, resolved: TaskRunRecord[]): void {
    const run = this.current(d.executionId, d.seq);
    if (!run || run.traversal !== d.traversal || !countsDown(run.status) || run.pending <= 0) return;
    const changes = this.q
      .prepare(DECREMENT_ONE)
      .run(d.count, d.failed, d.skipped, d.executionId, d.traversal, d.seq).changes;
    let next: TaskRunRecord | undefined;
    if (changes === 0) {
      this.cache.clear();
      const row = this.q
        .prepare(DECREMENT_ONE_READ, "raw")
        .get(d.count, d.failed, d.skipped, d.executionId, d.traversal, d.seq);
      next = row ? toRun(row as TaskRunRow, d) : undefined;
    } else {
      next = copyRun(run);
      next.pending = Math.max(0, run.pending - d.count);
      next.failedPredecessors += d.failed;
      next.skippedPredecessors += d.skipped;
    }
    if (!next) return;
    this.cache.set(next);
    if (next.pending === 0) resolved.push(next);
  }

  private decrementMany(first: SummedDelta, seqs: number[]): TaskRunRecord[] {
    const rows = this.q
      .prepare(DECREMENT_MANY, "raw")
      .all(
        first.count,
        first.failed,
        first.skipped,
        first.executionId,
        first.traversal,
        JSON.stringify(seqs),
      ) as TaskRunRow[];
    const known = { executionId: first.executionId, traversal: first.traversal };
    const done: TaskRunRecord[] = [];
    for (const row of rows) {
      const run = toRun(row, known);
      this.cache.set(run);
      if (row[RUN_PENDING] === 0) done.push(run);
    }
    // Answer in the order the deltas were given, as one statement per delta would.
    const position = new Map(seqs.map((seq, i) => [seq, i]));
    return done.sort((a, b) => position.get(a.seq)! - position.get(b.seq)!);
  }

  /** The cache held a row SQLite does not: drop the cache and let SQLite decide and answer. */
  private updateRunFromSqlite(
    guard: RunGuard,
    setShape: string,
    values: SqlValue[],
    shape: string,
  ): TaskRunRecord | null {
    this.cache.clear();
    const read = this.q.shaped(
      `run-read:${setShape}|${shape}`,
      () =>
        `UPDATE task_runs SET ${setList(setShape, RUN_PATCH_COLUMNS)} WHERE ${guardSql(shape)} RETURNING ${RUN_STATE_SELECT}`,
      "raw",
    );
    const row = read.get(...values) as TaskRunRow | undefined;
    if (!row) return null;
    const run = toRun(row, guard);
    this.cache.set(run);
    return run;
  }
}
