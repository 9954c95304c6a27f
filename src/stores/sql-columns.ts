/**
 * The SQL column behind every patchable field of the Store port, shared by the SQL adapters
 * (their tables use the same snake_case names). Typed over every key, so a field added to the
 * port fails to compile here until it has a column.
 */
import type { ExecutionPatch, RunPatch } from "../engine/store.js";

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

/** JSON text for a JSON column; null and undefined are stored as NULL. */
export function json(value: unknown): string | null {
  return value === null || value === undefined ? null : (JSON.stringify(value) ?? null);
}
