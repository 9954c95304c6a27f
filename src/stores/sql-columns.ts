/**
 * The SQL column behind every patchable field of the Store port, shared by the SQL adapters
 * (their tables use the same snake_case names). Typed over every key, so a field added to the
 * port fails to compile here until it has a column.
 */
import type { ExecutionPatch, ExecutionRecord, RunPatch } from "../engine/store.js";

/** Where a patch field goes. */
export interface PatchColumn {
  column: string;
  json?: true;
}

/** The column of every RunPatch field. */
export const RUN_PATCH_COLUMNS: { readonly [K in keyof Required<RunPatch>]: PatchColumn } = {
  status: { column: "status" },
  attempt: { column: "attempt" },
  runAfter: { column: "run_after" },
  leaseOwner: { column: "lease_owner" },
  leaseExpiresAt: { column: "lease_expires_at" },
  deadline: { column: "deadline" },
  tokenHash: { column: "token_hash" },
  output: { column: "output", json: true },
  error: { column: "error", json: true },
  startedAt: { column: "started_at" },
  finishedAt: { column: "finished_at" },
  maxAttempts: { column: "max_attempts" },
  interruptions: { column: "interruptions" },
  pending: { column: "pending" },
  failedPredecessors: { column: "failed_predecessors" },
  skippedPredecessors: { column: "skipped_predecessors" },
  versionKey: { column: "version_key" },
  reusedFrom: { column: "reused_from" },
  undoneAt: { column: "undone_at" },
  supersededBy: { column: "superseded_by" },
};

/** The column of every ExecutionPatch field. */
export const EXECUTION_PATCH_COLUMNS: { readonly [K in keyof Required<ExecutionPatch>]: PatchColumn } = {
  status: { column: "status" },
  output: { column: "output", json: true },
  error: { column: "error", json: true },
  failures: { column: "failures" },
  endStatus: { column: "end_status" },
  updatedAt: { column: "updated_at" },
  finishedAt: { column: "finished_at" },
  traversal: { column: "traversal" },
  spec: { column: "spec", json: true },
  input: { column: "input", json: true },
  version: { column: "version" },
  base: { column: "base" },
  origin: { column: "origin" },
  deadline: { column: "deadline" },
};

/** The columns of an execution's parent link (a sub-workflow's), as both SQL adapters name them. */
export interface ParentColumns {
  parent_id: string | null;
  parent_seq: number | null;
  parent_attempt: number | null;
  parent_traversal: string | null;
  depth: number;
}

/** The values of the parent link's columns (parent_id, parent_seq, parent_attempt, parent_traversal, depth). */
export function parentValues(e: Pick<ExecutionRecord, "parent" | "depth">): (string | number | null)[] {
  return [
    e.parent?.executionId ?? null,
    e.parent?.seq ?? null,
    e.parent?.attempt ?? null,
    e.parent?.traversal ?? null,
    e.depth ?? 0,
  ];
}

/** The parent link of a row, or null for an execution started by a person or a program. */
export function parentOf(row: ParentColumns): ExecutionRecord["parent"] {
  if (row.parent_id == null || row.parent_seq == null || row.parent_attempt == null) return null;
  return {
    executionId: row.parent_id,
    seq: row.parent_seq,
    attempt: row.parent_attempt,
    traversal: row.parent_traversal ?? "",
  };
}

/** JSON text for a JSON column; null and undefined are stored as NULL. */
export function json(value: unknown): string | null {
  return value === null || value === undefined ? null : (JSON.stringify(value) ?? null);
}
