/**
 * Parsed specs and inputs by execution id. A spec never changes within a traversal and an
 * input never changes at all, so an entry stays valid while the row's traversal matches;
 * reads then leave both (possibly large) JSON columns out of the query, which saves reading
 * and parsing them on every internal sync point the engine resolves. Shared by the SQL stores.
 *
 * Every record answered for one execution shares these objects, as MemoryStore's records
 * share theirs: callers treat records as values and never change them in place.
 */
import type { WorkflowSpec } from "../definition/spec.js";

/** The immutable part of an execution, parsed once. */
export interface CachedExecution {
  traversal: string;
  spec: WorkflowSpec;
  input: Record<string, unknown>;
}

/** A least-recently-used map of parsed specs; default capacity 1000 executions. */
export class ExecutionCache {
  private readonly entries = new Map<string, CachedExecution>();

  constructor(private readonly capacity = 1000) {}

  /** The entry for `id` if it was read under `traversal`. */
  get(id: string, traversal: string): CachedExecution | undefined {
    const entry = this.entries.get(id);
    if (!entry || entry.traversal !== traversal) return undefined;
    // Refresh its place in the LRU order (Map iterates in insertion order).
    this.entries.delete(id);
    this.entries.set(id, entry);
    return entry;
  }

  /** Whether some traversal of `id` is cached: then a read may leave spec and input out. */
  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** Keeps the spec and input of `id` (parsed) as read under `traversal`. */
  remember(
    id: string,
    traversal: string,
    spec: WorkflowSpec,
    input: Record<string, unknown>,
  ): CachedExecution {
    if (!this.entries.has(id) && this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    const entry: CachedExecution = { traversal, spec, input };
    this.entries.delete(id);
    this.entries.set(id, entry);
    return entry;
  }
}
