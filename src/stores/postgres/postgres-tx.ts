/**
 * The StoreTx of the PostgreSQL adapter: every method is one statement on the client of the
 * transaction PostgresStore began. Compare-and-set guards are WHERE clauses and the new row
 * comes back with RETURNING, so a guard is checked and applied by one statement; batches
 * (runs, events, sync-point decrements) are one statement each, whatever their size.
 */
import type pg from "pg";
import { assertNameLengths } from "../../definition/names.js";
import type {
  ClaimRequest,
  ExecutionPatch,
  RunChange,
  RunGuard,
  RunPatch,
  StoreTx,
  SyncPointDelta,
  TaskRunRecord,
} from "../../engine/store.js";
import { sumDeltas } from "../memory/run-records.js";
import type { ExecutionCache } from "../execution-cache.js";
import { Queries, statement, type Queryable } from "./queries.js";
import {
  EXECUTION_INSERT,
  EXECUTION_PATCH_COLUMNS,
  EXECUTION_STATE_COLUMNS,
  RUN_COLUMNS,
  RUN_PATCH_COLUMNS,
  RUNS_INSERT,
  TRAVERSAL_COLUMNS,
  traversalValues,
  eventColumns,
  executionValues,
  json,
  runColumns,
  runColumnsOf,
  toRun,
  type ExecutionRow,
  type PatchColumn,
  type TaskRunRow,
} from "./schema.js";
import { changeRounds, changesColumns, keyColumns, RUNS_BY_KEY, UPDATE_RUNS } from "./run-changes.js";
import { DECREMENT_SYNC_POINT, DECREMENT_SYNC_POINTS, syncPointColumns } from "./sync-points.js";

const RECORD_FAILURE =
  "UPDATE executions SET failures = failures + $3, error = coalesce(error, $1::json) WHERE id = $2";
// Claim in one statement. SKIP LOCKED: workers racing for the queue take different rows
// instead of queueing behind each other's locks; the CTE locks before the UPDATE reads.
// Runs needing code (a builder function's) are left to claimers that have it: $5 is their code ids.
const CLAIM = (byExecution: boolean) =>
  "WITH picked AS (SELECT execution_id, seq FROM task_runs " +
  "WHERE status IN ('ready', 'retrying') AND run_after <= $3 AND (code IS NULL OR code = ANY($5::text[]))" +
  `${byExecution ? " AND execution_id = $6" : ""} ` +
  "ORDER BY run_after, seq LIMIT $4 FOR NO KEY UPDATE SKIP LOCKED) " +
  "UPDATE task_runs t SET status = 'running', attempt = t.attempt + 1, lease_owner = $1, " +
  "lease_expires_at = $2, started_at = $3 FROM picked p WHERE t.execution_id = p.execution_id AND t.seq = p.seq " +
  `RETURNING ${runColumnsOf("t")}`;
const BY_TOKEN = `SELECT ${RUN_COLUMNS} FROM task_runs WHERE token_hash = $1 LIMIT 1`;
// Runs another reaper (or the run's own worker) holds are skipped: whoever holds them decides.
const EXPIRED =
  `WITH leases AS (SELECT ${RUN_COLUMNS} FROM task_runs WHERE status = 'running' AND lease_expires_at < $1 ` +
  "ORDER BY lease_expires_at LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED), " +
  `deadlines AS (SELECT ${RUN_COLUMNS} FROM task_runs WHERE status = 'waiting' AND deadline < $1 ` +
  "ORDER BY deadline LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED) " +
  "SELECT * FROM leases UNION ALL SELECT * FROM deadlines";
// Locked so that two reapers never compensate one execution at once.
const OVERDUE =
  `SELECT ${EXECUTION_STATE_COLUMNS} FROM executions ` +
  "WHERE status = 'running' AND deadline IS NOT NULL AND deadline < $1 ORDER BY deadline LIMIT $2 " +
  "FOR NO KEY UPDATE SKIP LOCKED";
/**
 * Events of one execution are appended under a transaction-scoped advisory lock on it, taken
 * just before the commit: their ids (a sequence) are then assigned in commit order, so a reader
 * paging with `afterId` never skips an event that commits after a later-numbered one. The
 * scalar subquery runs once, before the first row is inserted; executions are locked in order.
 */
const EVENT_LOCK = 0x77657674; // "wevt"
const APPEND_EVENTS =
  "WITH locks AS (SELECT pg_advisory_xact_lock(" +
  EVENT_LOCK +
  ", hashtext(id)) FROM (SELECT DISTINCT unnest($1::text[]) AS id ORDER BY 1) ids) " +
  "INSERT INTO events (execution_id, at, type, payload) " +
  "SELECT e.execution_id, e.at, e.type, e.payload::json " +
  "FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[]) WITH ORDINALITY AS e(execution_id, at, type, payload, n) " +
  "WHERE (SELECT count(*) FROM locks) >= 0 ORDER BY e.n";
const ALLOCATE_SEQS = "UPDATE executions SET next_seq = next_seq + $1 WHERE id = $2 RETURNING next_seq";
const INSERT_TRAVERSAL =
  `INSERT INTO traversals (${TRAVERSAL_COLUMNS.join(", ")}) ` +
  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
const UPDATE_TRAVERSAL =
  "UPDATE traversals SET status = coalesce($3, status), finished_at = coalesce($4, finished_at) " +
  "WHERE execution_id = $1 AND id = $2";
const INSERT_WORKFLOW =
  "INSERT INTO workflows (name, version, spec, origin, code, created_at) VALUES ($1, $2, $3, $4, $5, $6)";

/** `column = $n` assignments of a patch; values are appended to `values`. Empty when nothing changes. */
function assignments(
  patch: object,
  columns: Readonly<Record<string, PatchColumn>>,
  values: unknown[],
): string {
  const sets: string[] = [];
  for (const [key, value] of Object.entries(patch)) {
    // Undefined means "unchanged", as an absent key of a Partial does.
    if (value === undefined) continue;
    const column = columns[key];
    if (!column) throw new Error(`the PostgreSQL store cannot set "${key}"`);
    values.push(column.json ? json(value) : value);
    sets.push(`${column.column} = $${values.length}`);
  }
  return sets.join(", ");
}

/** The WHERE clause of a run compare-and-set; its values are appended to `values`. */
function runGuard(guard: RunGuard, values: unknown[]): string {
  values.push(guard.executionId, guard.seq, guard.status, guard.traversal);
  const n = values.length;
  let where = `execution_id = $${n - 3} AND seq = $${n - 2} AND status = ANY($${n - 1}::text[]) AND traversal = $${n}`;
  if (guard.attempt !== undefined) {
    values.push(guard.attempt);
    where += ` AND attempt = $${values.length}`;
  }
  if (guard.leaseExpiresBefore !== undefined) {
    values.push(guard.leaseExpiresBefore);
    where += ` AND lease_expires_at < $${values.length}`;
  }
  if (guard.deadlineBefore !== undefined) {
    values.push(guard.deadlineBefore);
    where += ` AND deadline < $${values.length}`;
  }
  return where;
}

const claimable = (status: string | undefined) => status === "ready" || status === "retrying";
const runKey = (run: { executionId: string; seq: number }) => `${run.seq}\u0000${run.executionId}`;

/**
 * One transaction's StoreTx and what PostgresStore needs to know at its end: whether runs
 * became claimable (then it notifies at commit) and whether a statement failed (then the
 * transaction is aborted, even if the function caught the error: COMMIT would roll back).
 */
export class PostgresTx {
  readonly api: StoreTx;
  /**
   * Runs this transaction made ready or retrying and did not claim itself: workers elsewhere
   * are woken for them once it commits (a chain's step claims what it made ready: no wake-up).
   */
  readonly madeClaimable = new Set<string>();
  /** The first statement error; PostgreSQL refuses every later statement of the transaction. */
  failure: unknown = undefined;
  private open = true;

  constructor(client: pg.PoolClient, cache: ExecutionCache) {
    const db: Queryable = {
      query: async <R extends pg.QueryResultRow>(config: pg.QueryConfig) => {
        if (!this.open) throw new Error("a StoreTx was used after its transaction ended");
        try {
          return await client.query<R>(config);
        } catch (error) {
          this.failure ??= error;
          throw error;
        }
      },
    };
    this.api = createApi(this, new Queries(db, cache, true), cache);
  }

  /** Whether workers should be woken once this commits. */
  get wake(): boolean {
    return this.madeClaimable.size > 0;
  }

  /** Called once the transaction committed or rolled back: the StoreTx refuses further use. */
  end(): void {
    this.open = false;
  }
}

function createApi(self: PostgresTx, q: Queries, cache: ExecutionCache): StoreTx {
  const run = (text: string, values: readonly unknown[]) =>
    q.db.query<pg.QueryResultRow>(statement(text, values));
  async function updateRun(guard: RunGuard, patch: RunPatch): Promise<TaskRunRecord | null> {
    const values: unknown[] = [];
    const sets = assignments(patch, RUN_PATCH_COLUMNS, values);
    const where = runGuard(guard, values);
    const sql = sets
      ? `UPDATE task_runs SET ${sets} WHERE ${where} RETURNING ${RUN_COLUMNS}`
      : `SELECT ${RUN_COLUMNS} FROM task_runs WHERE ${where}`;
    const row = (await run(sql, values)).rows[0] as TaskRunRow | undefined;
    if (!row) return null;
    if (claimable(patch.status)) self.madeClaimable.add(runKey(guard));
    return toRun(row);
  }
  return {
    async insertExecution(execution) {
      assertNameLengths(execution.workflow, Object.keys(execution.spec.tasks));
      await run(EXECUTION_INSERT, executionValues(execution));
      cache.remember(execution.id, execution.traversal, execution.spec, structuredClone(execution.input));
    },
    getExecution: (id) => q.getExecution(id),
    async updateExecution(id, guard, patch: ExecutionPatch) {
      const values: unknown[] = [];
      const sets = assignments(patch, EXECUTION_PATCH_COLUMNS, values);
      values.push(id, guard.status);
      let where = `id = $${values.length - 1} AND status = ANY($${values.length}::text[])`;
      if (guard.traversal !== undefined) {
        values.push(guard.traversal);
        where += ` AND traversal = $${values.length}`;
      }
      // An empty patch still answers whether the guard holds.
      const sql = sets
        ? `UPDATE executions SET ${sets} WHERE ${where}`
        : `SELECT 1 FROM executions WHERE ${where}`;
      return ((await run(sql, values)).rowCount ?? 0) > 0;
    },
    async insertRuns(runs) {
      if (runs.length === 0) return;
      await run(RUNS_INSERT, runColumns(runs));
      for (const r of runs) if (claimable(r.status)) self.madeClaimable.add(runKey(r));
    },
    getRun: (executionId, seq) => q.getRun(executionId, seq),
    listRuns: (executionId) => q.listRuns(executionId),
    updateRun,
    async getRunsByKey(keys) {
      if (keys.length === 1) return [await q.getRun(keys[0]!.executionId, keys[0]!.seq)];
      const found = new Array<TaskRunRecord | undefined>(keys.length).fill(undefined);
      if (keys.length === 0) return found;
      const { rows } = await run(RUNS_BY_KEY, keyColumns(keys));
      for (const row of rows as (TaskRunRow & { n: string | number })[])
        found[Number(row.n) - 1] = toRun(row);
      return found;
    },
    async updateRuns(changes: readonly RunChange[]) {
      // One change (a chain's step) needs no lock order: the short statement, with its prepared plan.
      if (changes.length === 1) return [await updateRun(changes[0]!.guard, changes[0]!.patch)];
      const answers = new Array<TaskRunRecord | null>(changes.length).fill(null);
      for (const round of changeRounds(changes)) {
        const { rows } = await run(UPDATE_RUNS, changesColumns(round.map((i) => changes[i]!)));
        for (const row of rows as (TaskRunRow & { n: number })[]) {
          const i = round[row.n - 1]!;
          answers[i] = toRun(row);
          if (claimable(changes[i]!.patch.status)) self.madeClaimable.add(runKey(changes[i]!.guard));
        }
      }
      return answers;
    },
    async decrementSyncPoints(deltas: readonly SyncPointDelta[]) {
      if (deltas.length === 0) return [];
      const summed = sumDeltas(deltas);
      if (summed.length === 1) {
        // One successor (a chain's step): the short statement, with its prepared plan.
        const { rows } = await run(
          DECREMENT_SYNC_POINT,
          syncPointColumns(summed).map((column) => column[0]),
        );
        return (rows as TaskRunRow[]).filter((row) => row.pending === 0).map(toRun);
      }
      const { rows } = await run(DECREMENT_SYNC_POINTS, syncPointColumns(summed));
      const resolved = new Map<string, TaskRunRecord>();
      for (const row of rows as TaskRunRow[]) resolved.set(`${row.seq}\u0000${row.execution_id}`, toRun(row));
      // Answer in the order the deltas came, as the reference adapter does.
      const answer: TaskRunRecord[] = [];
      for (const d of summed) {
        const resolvedRun = resolved.get(`${d.seq}\u0000${d.executionId}`);
        if (resolvedRun) answer.push(resolvedRun);
      }
      return answer;
    },
    async claimRuns(request: ClaimRequest) {
      const limit = Math.max(0, request.limit);
      if (limit === 0) return [];
      const values = [request.owner, request.leaseExpiresAt, request.now, limit, request.codes ?? []];
      if (request.executionId !== undefined) values.push(request.executionId);
      const { rows } = await run(CLAIM(request.executionId !== undefined), values);
      for (const row of rows as TaskRunRow[])
        self.madeClaimable.delete(`${row.seq}\u0000${row.execution_id}`);
      // RETURNING promises no order: answer in claim order, like the reference adapter.
      return (rows as TaskRunRow[]).map(toRun).sort((a, b) => a.runAfter - b.runAfter || a.seq - b.seq);
    },
    async recordFailure(executionId, error, count = 1) {
      await run(RECORD_FAILURE, [JSON.stringify(error), executionId, count]);
    },
    async findRunByToken(tokenHash) {
      const row = (await run(BY_TOKEN, [tokenHash])).rows[0] as TaskRunRow | undefined;
      return row && toRun(row);
    },
    async findExpiredRuns(now, limit) {
      const { rows } = await run(EXPIRED, [now, limit]);
      return (rows as TaskRunRow[]).slice(0, limit).map(toRun);
    },
    async findOverdueExecutions(now, limit) {
      return q.executionsOf((await run(OVERDUE, [now, limit])).rows as ExecutionRow[]);
    },
    async appendEvents(events) {
      if (events.length > 0) await run(APPEND_EVENTS, eventColumns(events));
    },
    async allocateSeqs(executionId, count) {
      const { rows } = await run(ALLOCATE_SEQS, [count, executionId]);
      const row = rows[0] as { next_seq: number } | undefined;
      if (!row) throw new Error(`execution ${executionId} does not exist`);
      return row.next_seq - count;
    },
    async insertTraversal(traversal) {
      await run(INSERT_TRAVERSAL, traversalValues(traversal));
    },
    listTraversals: (executionId) => q.listTraversals(executionId),
    async updateTraversal(executionId, id, patch) {
      await run(UPDATE_TRAVERSAL, [executionId, id, patch.status ?? null, patch.finishedAt ?? null]);
    },
    getWorkflow: (name, version) => q.getWorkflow(name, version),
    async insertWorkflow(workflow) {
      assertNameLengths(workflow.name, Object.keys(workflow.spec.tasks));
      await run(INSERT_WORKFLOW, [
        workflow.name,
        workflow.version,
        JSON.stringify(workflow.spec),
        workflow.origin,
        workflow.code,
        workflow.createdAt,
      ]);
    },
  };
}
