/**
 * The reference in-memory Store: every method answers synchronously and a transaction works
 * on copy-on-write state, so a thrown error rolls back exactly like a database would. Used by
 * tests and by the in-process sync runner (`memory:`); it does not survive the process.
 */
import type {
  ClaimRequest,
  ExecutionError,
  ExecutionEvent,
  ExecutionFilter,
  ExecutionPatch,
  ExecutionRecord,
  RunGuard,
  RunPatch,
  Store,
  StoreCapabilities,
  StoreTx,
  SyncPointDelta,
  TaskRunRecord,
} from "../../engine/store.js";
import type { ExecutionStatus } from "../../engine/states.js";

function runKey(executionId: string, seq: number): string {
  return `${executionId}\u0000${seq}`;
}

const CLAIMABLE = new Set(["ready", "retrying"]);

export class MemoryStore implements Store {
  readonly capabilities: StoreCapabilities = { sharedAcrossProcesses: false, notifications: false };
  private executions = new Map<string, ExecutionRecord>();
  private runs = new Map<string, TaskRunRecord>();
  private runsByExecution = new Map<string, number[]>();
  /**
   * Claimable runs, by key, in the order they became claimable: a claim scans only these, never
   * every run, and this order is their runAfter order but for retries waiting for their time.
   */
  private claimable = new Set<string>();
  /**
   * The same keys as a queue (a JavaScript Set iterated from the start after many deletions is
   * slow); entries no longer in `claimable` are dropped lazily when the scan meets them.
   */
  private claimQueue: string[] = [];
  private claimHead = 0;
  /** Running and waiting runs: what the watchdog looks at. */
  private open = new Set<string>();
  private tokens = new Map<string, string>();
  private events = new Map<string, ExecutionEvent[]>();
  private nextEventId = 1;
  private queue: Promise<unknown> = Promise.resolve();

  async transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    // One transaction at a time, like SQLite's single writer; undo log for rollback.
    const run = this.queue.then(async () => {
      const undo: Array<() => void> = [];
      try {
        return await fn(this.tx(undo));
      } catch (error) {
        for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
        throw error;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async getExecution(id: string): Promise<ExecutionRecord | undefined> {
    // Records are never changed in place (see tx()), so a shallow copy is a stable snapshot.
    const execution = this.executions.get(id);
    return execution && { ...execution };
  }

  async listExecutions(filter: ExecutionFilter = {}): Promise<ExecutionRecord[]> {
    const before = filter.before;
    return [...this.executions.values()]
      .filter(
        (e) =>
          (!filter.status || e.status === filter.status) &&
          (!filter.workflow || e.workflow === filter.workflow),
      )
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
      .filter(
        (e) =>
          !before || e.createdAt < before.createdAt || (e.createdAt === before.createdAt && e.id < before.id),
      )
      .slice(0, filter.limit ?? Number.POSITIVE_INFINITY)
      .map((e) => structuredClone(e));
  }

  async listRuns(executionId: string): Promise<TaskRunRecord[]> {
    return this.runsOf(executionId).map((run) => structuredClone(run));
  }

  async getRuns(executionId: string, seqs: readonly number[]): Promise<TaskRunRecord[]> {
    return seqs.flatMap((seq) => {
      const run = this.runs.get(runKey(executionId, seq));
      return run ? [structuredClone(run)] : [];
    });
  }

  async listEvents(executionId: string, afterId = 0): Promise<ExecutionEvent[]> {
    return (this.events.get(executionId) ?? [])
      .filter((e) => (e.id ?? 0) > afterId)
      .map((e) => structuredClone(e));
  }

  async nextRunAfter(executionId?: string): Promise<number | null> {
    let next: number | null = null;
    for (const key of this.claimable) {
      const run = this.runs.get(key)!;
      if (executionId && run.executionId !== executionId) continue;
      if (next === null || run.runAfter < next) next = run.runAfter;
    }
    return next;
  }

  async close(): Promise<void> {}

  /** Scans the claim queue from its head; runs not yet due, or of other executions, go to its end. */
  private takeClaimable(request: ClaimRequest): TaskRunRecord[] {
    const taken: TaskRunRecord[] = [];
    const later: string[] = [];
    const end = this.claimQueue.length;
    while (this.claimHead < end && taken.length < request.limit) {
      const key = this.claimQueue[this.claimHead++]!;
      if (!this.claimable.has(key)) continue;
      const run = this.runs.get(key)!;
      if (run.runAfter > request.now || (request.executionId && run.executionId !== request.executionId)) later.push(key);
      else if (!taken.includes(run)) taken.push(run);
    }
    this.claimQueue.push(...later);
    if (this.claimHead > 1024 && this.claimHead * 2 > this.claimQueue.length) {
      this.claimQueue = this.claimQueue.slice(this.claimHead);
      this.claimHead = 0;
    }
    return taken;
  }

  private runsOf(executionId: string): TaskRunRecord[] {
    return (this.runsByExecution.get(executionId) ?? []).map((seq) =>
      this.runs.get(runKey(executionId, seq))!,
    );
  }

  private setRun(run: TaskRunRecord, undo: Array<() => void>): void {
    const key = runKey(run.executionId, run.seq);
    const previous = this.runs.get(key);
    const wasClaimable = this.claimable.has(key);
    const wasOpen = this.open.has(key);
    this.runs.set(key, run);
    if (CLAIMABLE.has(run.status)) {
      // Re-inserting moves a run to the end: a retry waits behind runs ready now.
      if (!this.claimable.has(key)) this.claimQueue.push(key);
      this.claimable.add(key);
    } else this.claimable.delete(key);
    if (run.status === "running" || run.status === "waiting") this.open.add(key);
    else this.open.delete(key);
    if (run.tokenHash) this.tokens.set(run.tokenHash, key);
    undo.push(() => {
      if (previous) this.runs.set(key, previous);
      else this.runs.delete(key);
      if (wasClaimable && !this.claimable.has(key)) this.claimQueue.push(key);
      if (wasClaimable) this.claimable.add(key);
      else this.claimable.delete(key);
      if (wasOpen) this.open.add(key);
      else this.open.delete(key);
      if (run.tokenHash && run.tokenHash !== previous?.tokenHash) this.tokens.delete(run.tokenHash);
    });
  }

  private setExecution(execution: ExecutionRecord, undo: Array<() => void>): void {
    const previous = this.executions.get(execution.id);
    this.executions.set(execution.id, execution);
    undo.push(() => {
      if (previous) this.executions.set(execution.id, previous);
      else this.executions.delete(execution.id);
    });
  }

  private tx(undo: Array<() => void>): StoreTx {
    // Records are treated as immutable values: every change stores a new object, so readers
    // holding an older one never see a half-applied transition.
    return {
      insertExecution: (execution) => {
        if (this.executions.has(execution.id)) throw new Error(`execution ${execution.id} already exists`);
        this.setExecution(structuredClone(execution), undo);
      },
      getExecution: (id) => this.executions.get(id),
      updateExecution: (id, guard, patch: ExecutionPatch) => {
        const execution = this.executions.get(id);
        if (!execution || !guard.status.includes(execution.status)) return false;
        if (guard.traversal !== undefined && execution.traversal !== guard.traversal) return false;
        this.setExecution(
          { ...execution, ...patch, updatedAt: patch.updatedAt ?? execution.updatedAt },
          undo,
        );
        return true;
      },
      recordFailure: (id, error: ExecutionError) => {
        const execution = this.executions.get(id);
        if (!execution) return;
        this.setExecution(
          { ...execution, failures: execution.failures + 1, error: execution.error ?? error },
          undo,
        );
      },
      insertRuns: (runs) => {
        for (const run of runs) {
          const seqs = this.runsByExecution.get(run.executionId) ?? [];
          if (!this.runsByExecution.has(run.executionId)) {
            this.runsByExecution.set(run.executionId, seqs);
            undo.push(() => this.runsByExecution.delete(run.executionId));
          }
          seqs.push(run.seq);
          undo.push(() => seqs.pop());
          this.setRun(structuredClone(run), undo);
        }
      },
      getRun: (executionId, seq) => this.runs.get(runKey(executionId, seq)),
      listRuns: (executionId) => this.runsOf(executionId),
      updateRun: (guard: RunGuard, patch: RunPatch) => {
        const run = this.runs.get(runKey(guard.executionId, guard.seq));
        if (!run || !matches(run, guard)) return null;
        const updated = { ...run, ...patch };
        this.setRun(updated, undo);
        return updated;
      },
      decrementSyncPoints: (deltas: readonly SyncPointDelta[]) => {
        const resolved: TaskRunRecord[] = [];
        for (const delta of deltas) {
          const run = this.runs.get(runKey(delta.executionId, delta.seq));
          if (!run || run.traversal !== delta.traversal || run.status !== "blocked" || run.pending <= 0)
            continue;
          const updated = {
            ...run,
            pending: run.pending - 1,
            failedPredecessors: run.failedPredecessors + delta.failed,
            skippedPredecessors: run.skippedPredecessors + delta.skipped,
          };
          this.setRun(updated, undo);
          if (updated.pending === 0) resolved.push(updated);
        }
        return resolved;
      },
      claimRuns: (request: ClaimRequest) => {
        const candidates = this.takeClaimable(request);
        return candidates.map((run) => {
          const claimed: TaskRunRecord = {
            ...run,
            status: "running",
            attempt: run.attempt + 1,
            leaseOwner: request.owner,
            leaseExpiresAt: request.leaseExpiresAt,
            startedAt: request.now,
          };
          this.setRun(claimed, undo);
          return claimed;
        });
      },
      findRunByToken: (tokenHash) => {
        const key = this.tokens.get(tokenHash);
        const run = key ? this.runs.get(key) : undefined;
        return run && run.tokenHash === tokenHash ? run : undefined;
      },
      findExpiredRuns: (now, limit) => {
        const expired: TaskRunRecord[] = [];
        for (const key of this.open) {
          const run = this.runs.get(key)!;
          if (expired.length >= limit) break;
          if (run.status === "running" && run.leaseExpiresAt !== null && run.leaseExpiresAt < now)
            expired.push(run);
          else if (run.status === "waiting" && run.deadline !== null && run.deadline < now) expired.push(run);
        }
        return expired;
      },
      findOverdueExecutions: (now, limit) =>
        [...this.executions.values()]
          .filter(
            (e) =>
              e.status === ("running" satisfies ExecutionStatus) && e.deadline !== null && e.deadline < now,
          )
          .slice(0, limit),
      appendEvents: (events) => {
        for (const event of events) {
          const list = this.events.get(event.executionId) ?? [];
          if (!this.events.has(event.executionId)) this.events.set(event.executionId, list);
          list.push({ ...event, id: this.nextEventId++ });
          undo.push(() => list.pop());
        }
      },
    };
  }
}

/** The compare-and-set condition of `updateRun`, shared by adapters that filter in JavaScript. */
export function matches(run: TaskRunRecord, guard: RunGuard): boolean {
  if (!guard.status.includes(run.status) || run.traversal !== guard.traversal) return false;
  if (guard.attempt !== undefined && run.attempt !== guard.attempt) return false;
  if (
    guard.leaseExpiresBefore !== undefined &&
    !(run.leaseExpiresAt !== null && run.leaseExpiresAt < guard.leaseExpiresBefore)
  )
    return false;
  if (guard.deadlineBefore !== undefined && !(run.deadline !== null && run.deadline < guard.deadlineBefore))
    return false;
  return true;
}
