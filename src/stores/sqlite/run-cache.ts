/**
 * The open runs as this process last wrote or read them, so that a transition reads no row
 * back from SQLite: its guard is checked here and the row written with a plain UPDATE (a
 * RETURNING or SELECT of 24 columns costs more than the update itself).
 *
 * Valid only while no other connection wrote: every transaction holds the write lock from its
 * BEGIN IMMEDIATE, and checks `PRAGMA data_version` (which moves exactly when another
 * connection commits) right after it, dropping everything when it moved. A rollback drops
 * everything too. The UPDATE still carries the full guard: should the cache ever accept what
 * SQLite refuses, no row changes, and the cache is dropped rather than believed.
 */
import type { TaskRunRecord } from "../../engine/store.js";
import { isTerminalTask } from "../../engine/states.js";

function key(executionId: string, seq: number): string {
  return `${seq}\u0000${executionId}`;
}

/** Open runs by (execution, seq); default capacity 200,000 runs, oldest dropped first. */
export class RunCache {
  private readonly runs = new Map<string, TaskRunRecord>();
  private dataVersion: number | null = null;

  constructor(private readonly capacity = 200_000) {}

  /** Inside the write lock: keeps the entries only if nobody else committed since they were taken. */
  validate(dataVersion: number): void {
    if (dataVersion !== this.dataVersion) {
      this.runs.clear();
      this.dataVersion = dataVersion;
    }
  }

  get(executionId: string, seq: number): TaskRunRecord | undefined {
    return this.runs.get(key(executionId, seq));
  }

  /** Keeps `run` as stored now. Ended runs leave: transitions rarely touch them again. */
  set(run: TaskRunRecord): void {
    const k = key(run.executionId, run.seq);
    if (isTerminalTask(run.status)) {
      this.runs.delete(k);
      return;
    }
    if (this.runs.size >= this.capacity && !this.runs.has(k)) {
      const oldest = this.runs.keys().next().value;
      if (oldest !== undefined) this.runs.delete(oldest);
    }
    this.runs.set(k, run);
  }

  clear(): void {
    this.runs.clear();
    this.dataVersion = null;
  }
}
