/**
 * The reference in-memory Store. Every StoreTx method answers synchronously; records are
 * immutable values (each change stores a new object), and a transaction remembers the first
 * previous value of everything it touched, so a thrown error rolls back exactly like a database.
 * Used by tests and by the in-process sync runner (`memory:`); nothing survives the process.
 */
import { assertNameLengths } from "../../definition/names.js";
import { systemClock, type Clock } from "../../shared/clock.js";
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
  TraversalRecord,
  WorkflowRecord,
  ExecutionCounts,
} from "../../engine/store.js";
import { zeroCounts } from "../execution-counts.js";
import { countsDown } from "../../engine/states.js";
import { copyRun, matches, sumDeltas } from "./run-records.js";

export { matches } from "./run-records.js";

const CLAIMABLE = new Set(["ready", "retrying"]);

interface Undo {
  /** Slot -> the run before the transaction (undefined: the slot was new). */
  runs: Map<number, TaskRunRecord | undefined>;
  executions: Map<string, ExecutionRecord | undefined>;
  events: Map<string, number>;
  workflows: Map<string, number>;
  traversals: Map<string, readonly TraversalRecord[] | undefined>;
}

/**
 * Runs live in one array of slots (a number is a cheaper key than a string); each execution
 * maps its seqs to slots.
 */
export class MemoryStore implements Store {
  /** One machine, one clock: the local one. */
  readonly clock: Clock = systemClock;
  readonly capabilities: StoreCapabilities = { sharedAcrossProcesses: false, notifications: false };
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly slots: TaskRunRecord[] = [];
  private readonly slotsByExecution = new Map<string, number[]>();
  /** Claimable slots; `claimQueue` holds them in the order they became claimable. */
  private readonly claimable = new Set<number>();
  /** Stale entries (no longer in `claimable`) are dropped when a scan meets them. */
  private claimQueue: number[] = [];
  private claimHead = 0;
  /** Running and waiting slots: what the watchdog looks at. */
  private readonly open = new Set<number>();
  private readonly tokens = new Map<string, number>();
  private readonly events = new Map<string, ExecutionEvent[]>();
  /** Versions of each workflow, by name, in increasing order. */
  private readonly workflows = new Map<string, WorkflowRecord[]>();
  /** The traversals of each updated execution, by number; each list is replaced, never changed. */
  private readonly traversals = new Map<string, readonly TraversalRecord[]>();
  private nextEventId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private undo: Undo | null = null;
  private readonly txApi: StoreTx = this.tx();

  async transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    // One transaction at a time, like SQLite's single writer.
    const result = this.queue.then(async () => {
      const undo: Undo = {
        runs: new Map(),
        executions: new Map(),
        events: new Map(),
        workflows: new Map(),
        traversals: new Map(),
      };
      this.undo = undo;
      try {
        return await fn(this.txApi);
      } catch (error) {
        this.rollback(undo);
        throw error;
      } finally {
        this.undo = null;
      }
    });
    this.queue = result.catch(() => undefined);
    return result;
  }

  async getExecution(id: string): Promise<ExecutionRecord | undefined> {
    const execution = this.executions.get(id);
    return execution && { ...execution };
  }

  async listExecutions(filter: ExecutionFilter = {}): Promise<ExecutionRecord[]> {
    const before = filter.before;
    return [...this.executions.values()]
      .filter(
        (e) =>
          (!filter.status || e.status === filter.status) &&
          (!filter.workflow || e.workflow === filter.workflow) &&
          (filter.parentId === undefined || e.parent?.executionId === filter.parentId),
      )
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
      .filter(
        (e) =>
          !before || e.createdAt < before.createdAt || (e.createdAt === before.createdAt && e.id < before.id),
      )
      .slice(0, filter.limit ?? Number.POSITIVE_INFINITY)
      .map((e) => ({ ...e }));
  }

  async listRuns(executionId: string): Promise<TaskRunRecord[]> {
    return this.runsOf(executionId).map(copyRun);
  }

  async getRuns(executionId: string, seqs: readonly number[]): Promise<TaskRunRecord[]> {
    const found: TaskRunRecord[] = [];
    for (const seq of seqs) {
      const run = this.run(executionId, seq);
      if (run) found.push(copyRun(run));
    }
    return found;
  }

  async listEvents(executionId: string, afterId = 0): Promise<ExecutionEvent[]> {
    return (this.events.get(executionId) ?? []).filter((e) => (e.id ?? 0) > afterId).map((e) => ({ ...e }));
  }

  async nextRunAfter(executionId?: string, codes: readonly string[] = []): Promise<number | null> {
    let next: number | null = null;
    for (const slot of this.claimable) {
      const run = this.slots[slot]!;
      if (executionId && run.executionId !== executionId) continue;
      if (run.code !== null && !codes.includes(run.code)) continue;
      if (next === null || run.runAfter < next) next = run.runAfter;
    }
    return next;
  }

  async countExecutions(): Promise<ExecutionCounts> {
    const counts = zeroCounts();
    for (const execution of this.executions.values()) counts[execution.status] += 1;
    return counts;
  }

  async countReady(now: number): Promise<number> {
    let ready = 0;
    for (const slot of this.claimable) if (this.slots[slot]!.runAfter <= now) ready += 1;
    return ready;
  }

  async listWorkflows(): Promise<WorkflowRecord[]> {
    return [...this.workflows.values()]
      .map((versions) => versions[versions.length - 1]!)
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async listTraversals(executionId: string): Promise<TraversalRecord[]> {
    return (this.traversals.get(executionId) ?? []).map((traversal) => ({ ...traversal }));
  }

  async findVersion(
    executionId: string,
    task: string,
    versionKey: string,
  ): Promise<TaskRunRecord | undefined> {
    const found = this.runsOf(executionId).find(
      (run) =>
        run.task === task &&
        run.versionKey === versionKey &&
        run.status === "succeeded" &&
        run.reusedFrom === null &&
        run.undoneAt === null,
    );
    return found && copyRun(found);
  }

  subscribe(): () => void {
    // Nothing outside this process writes here: in-process writers wake their workers directly.
    return () => {};
  }

  async close(): Promise<void> {}

  private slotOf(executionId: string, seq: number): number | undefined {
    return this.slotsByExecution.get(executionId)?.[seq];
  }

  private run(executionId: string, seq: number): TaskRunRecord | undefined {
    const slot = this.slotOf(executionId, seq);
    return slot === undefined ? undefined : this.slots[slot];
  }

  private runsOf(executionId: string): TaskRunRecord[] {
    const runs: TaskRunRecord[] = [];
    for (const slot of this.slotsByExecution.get(executionId) ?? []) {
      if (slot !== undefined) runs.push(this.slots[slot]!);
    }
    return runs;
  }

  /**
   * Scans the claim queue from its head; runs not yet due, of other executions, or needing code
   * the claimer lacks go to its end.
   */
  private takeClaimable(request: ClaimRequest): TaskRunRecord[] {
    const taken: TaskRunRecord[] = [];
    const seen = new Set<number>();
    const later: number[] = [];
    const end = this.claimQueue.length;
    while (this.claimHead < end && taken.length < request.limit) {
      const slot = this.claimQueue[this.claimHead++]!;
      if (!this.claimable.has(slot) || seen.has(slot)) continue;
      seen.add(slot);
      const run = this.slots[slot]!;
      if (
        run.runAfter > request.now ||
        (request.executionId && run.executionId !== request.executionId) ||
        (run.code !== null && !(request.codes ?? []).includes(run.code))
      )
        later.push(slot);
      else taken.push(run);
    }
    for (const slot of later) this.claimQueue.push(slot);
    if (this.claimHead > 1024 && this.claimHead * 2 > this.claimQueue.length) {
      this.claimQueue = this.claimQueue.slice(this.claimHead);
      this.claimHead = 0;
    }
    return taken;
  }

  private setRun(slot: number, run: TaskRunRecord): void {
    const undo = this.undo!;
    if (!undo.runs.has(slot)) undo.runs.set(slot, this.slots[slot]);
    this.index(slot, run);
  }

  /** Stores a run and puts its slot in the indexes its status calls for. */
  private index(slot: number, run: TaskRunRecord): void {
    this.slots[slot] = run;
    if (CLAIMABLE.has(run.status)) {
      if (!this.claimable.has(slot)) {
        this.claimable.add(slot);
        this.claimQueue.push(slot);
      }
    } else this.claimable.delete(slot);
    if (run.status === "running" || run.status === "waiting") this.open.add(slot);
    else this.open.delete(slot);
    // Stale entries are harmless: findRunByToken checks the run still holds the hash.
    if (run.tokenHash) this.tokens.set(run.tokenHash, slot);
  }

  private rollback(undo: Undo): void {
    for (const [slot, previous] of undo.runs) {
      if (previous) {
        this.index(slot, previous);
        continue;
      }
      const run = this.slots[slot]!;
      const slots = this.slotsByExecution.get(run.executionId)!;
      delete slots[run.seq];
      if (slots.every((s) => s === undefined)) this.slotsByExecution.delete(run.executionId);
      this.claimable.delete(slot);
      this.open.delete(slot);
    }
    for (const [id, previous] of undo.executions) {
      if (previous) this.executions.set(id, previous);
      else this.executions.delete(id);
    }
    for (const [id, length] of undo.events) this.events.get(id)!.length = length;
    for (const [id, previous] of undo.traversals) {
      if (previous) this.traversals.set(id, previous);
      else this.traversals.delete(id);
    }
    for (const [name, length] of undo.workflows) {
      // A name first registered in this transaction goes entirely: listWorkflows reads the last version.
      if (length === 0) this.workflows.delete(name);
      else this.workflows.get(name)!.length = length;
    }
  }

  private setExecution(execution: ExecutionRecord): void {
    const undo = this.undo!;
    if (!undo.executions.has(execution.id))
      undo.executions.set(execution.id, this.executions.get(execution.id));
    this.executions.set(execution.id, execution);
  }

  private setTraversals(executionId: string, traversals: readonly TraversalRecord[]): void {
    const undo = this.undo!;
    if (!undo.traversals.has(executionId)) undo.traversals.set(executionId, this.traversals.get(executionId));
    this.traversals.set(executionId, traversals);
  }

  private updateSlot(
    executionId: string,
    seq: number,
    change: (run: TaskRunRecord) => TaskRunRecord | null,
  ): TaskRunRecord | null {
    const slot = this.slotOf(executionId, seq);
    if (slot === undefined) return null;
    const updated = change(this.slots[slot]!);
    if (updated) this.setRun(slot, updated);
    return updated;
  }

  private updateRun(guard: RunGuard, patch: RunPatch): TaskRunRecord | null {
    return this.updateSlot(guard.executionId, guard.seq, (run) =>
      matches(run, guard) ? Object.assign(copyRun(run), patch) : null,
    );
  }

  private tx(): StoreTx {
    return {
      insertExecution: (execution) => {
        assertNameLengths(execution.workflow, Object.keys(execution.spec.tasks));
        if (this.executions.has(execution.id)) throw new Error(`execution ${execution.id} already exists`);
        // The spec is shared, never changed: copying a 10,000-task spec per execution is waste.
        this.setExecution({ ...execution, input: structuredClone(execution.input) });
      },
      getExecution: (id) => this.executions.get(id),
      updateExecution: (id, guard, patch: ExecutionPatch) => {
        const execution = this.executions.get(id);
        if (!execution || !guard.status.includes(execution.status)) return false;
        if (guard.traversal !== undefined && execution.traversal !== guard.traversal) return false;
        this.setExecution({ ...execution, ...patch });
        return true;
      },
      recordFailure: (id, error: ExecutionError, count = 1) => {
        const execution = this.executions.get(id);
        if (execution)
          this.setExecution({
            ...execution,
            failures: execution.failures + count,
            error: execution.error ?? error,
          });
      },
      insertRuns: (runs) => {
        for (const run of runs) {
          let slots = this.slotsByExecution.get(run.executionId);
          if (!slots) {
            slots = [];
            this.slotsByExecution.set(run.executionId, slots);
          }
          if (slots[run.seq] !== undefined)
            throw new Error(`run ${run.executionId}/${run.seq} already exists`);
          const slot = this.slots.length;
          slots[run.seq] = slot;
          this.undo!.runs.set(slot, undefined);
          this.index(slot, copyRun(run));
        }
      },
      getRun: (executionId, seq) => this.run(executionId, seq),
      getRunsByKey: (keys) => keys.map((key) => this.run(key.executionId, key.seq)),
      listRuns: (executionId) => this.runsOf(executionId),
      updateRun: (guard: RunGuard, patch: RunPatch) => this.updateRun(guard, patch),
      updateRuns: (changes) => changes.map((change) => this.updateRun(change.guard, change.patch)),
      decrementSyncPoints: (deltas: readonly SyncPointDelta[]) => {
        const resolved: TaskRunRecord[] = [];
        for (const delta of sumDeltas(deltas)) {
          const updated = this.updateSlot(delta.executionId, delta.seq, (run) => {
            if (run.traversal !== delta.traversal || !countsDown(run.status) || run.pending <= 0) return null;
            const next = copyRun(run);
            next.pending = Math.max(0, run.pending - delta.count);
            next.failedPredecessors += delta.failed;
            next.skippedPredecessors += delta.skipped;
            return next;
          });
          if (updated && updated.pending === 0) resolved.push(updated);
        }
        return resolved;
      },
      claimRuns: (request: ClaimRequest) =>
        this.takeClaimable(request).map((run) =>
          this.updateSlot(run.executionId, run.seq, (current) => {
            const claimed = copyRun(current);
            claimed.status = "running";
            claimed.attempt += 1;
            claimed.leaseOwner = request.owner;
            claimed.leaseExpiresAt = request.leaseExpiresAt;
            claimed.startedAt = request.now;
            return claimed;
          })!,
        ),
      findRunByToken: (tokenHash) => {
        const slot = this.tokens.get(tokenHash);
        const run = slot === undefined ? undefined : this.slots[slot];
        return run && run.tokenHash === tokenHash ? run : undefined;
      },
      findExpiredRuns: (now, limit) => {
        const expired: TaskRunRecord[] = [];
        for (const slot of this.open) {
          if (expired.length >= limit) break;
          const run = this.slots[slot]!;
          if (run.status === "running" && run.leaseExpiresAt !== null && run.leaseExpiresAt < now)
            expired.push(run);
          else if (run.status === "waiting" && run.deadline !== null && run.deadline < now) expired.push(run);
        }
        return expired;
      },
      findOverdueExecutions: (now, limit) => {
        const overdue: ExecutionRecord[] = [];
        for (const e of this.executions.values()) {
          if (overdue.length >= limit) break;
          if (e.status === "running" && e.deadline !== null && e.deadline < now) overdue.push(e);
        }
        return overdue;
      },
      getWorkflow: (name, version) => {
        const versions = this.workflows.get(name) ?? [];
        return version === undefined
          ? versions[versions.length - 1]
          : versions.find((w) => w.version === version);
      },
      insertWorkflow: (workflow) => {
        assertNameLengths(workflow.name, Object.keys(workflow.spec.tasks));
        let versions = this.workflows.get(workflow.name);
        if (!versions) {
          versions = [];
          this.workflows.set(workflow.name, versions);
        }
        if (versions.some((w) => w.version === workflow.version)) {
          throw new Error(`workflow ${workflow.name} version ${workflow.version} already exists`);
        }
        if (!this.undo!.workflows.has(workflow.name))
          this.undo!.workflows.set(workflow.name, versions.length);
        versions.push(workflow);
        versions.sort((a, b) => a.version - b.version);
      },
      allocateSeqs: (executionId, count) => {
        const execution = this.executions.get(executionId);
        if (!execution) throw new Error(`execution ${executionId} does not exist`);
        this.setExecution({ ...execution, nextSeq: execution.nextSeq + count });
        return execution.nextSeq;
      },
      insertTraversal: (traversal) => {
        const list = this.traversals.get(traversal.executionId) ?? [];
        if (list.some((t) => t.id === traversal.id))
          throw new Error(`traversal ${traversal.id} of ${traversal.executionId} already exists`);
        this.setTraversals(
          traversal.executionId,
          [...list, { ...traversal }].sort((a, b) => a.number - b.number),
        );
      },
      listTraversals: (executionId) => [...(this.traversals.get(executionId) ?? [])],
      updateTraversal: (executionId, id, patch) => {
        const list = this.traversals.get(executionId);
        if (!list) return;
        this.setTraversals(
          executionId,
          list.map((t) => (t.id === id ? { ...t, ...patch } : t)),
        );
      },
      appendEvents: (events) => {
        const undo = this.undo!;
        for (const event of events) {
          let list = this.events.get(event.executionId);
          if (!list) {
            list = [];
            this.events.set(event.executionId, list);
          }
          if (!undo.events.has(event.executionId)) undo.events.set(event.executionId, list.length);
          event.id = this.nextEventId++;
          list.push(event);
        }
      },
    };
  }
}
