/**
 * The `traversals` table's rows, shared by the SQL adapters: one column list, one way to bind a
 * record and one way to read a row back. SQLite answers JSON columns as text and booleans as
 * 0/1; PostgreSQL parses json and boolean columns itself; both read here.
 */
import type { WorkflowSpec } from "../definition/spec.js";
import type { TraversalCause, TraversalRecord, TraversalStatus } from "../engine/store.js";

export const TRAVERSAL_COLUMNS = [
  "execution_id",
  "id",
  "number",
  "cause",
  "spec",
  "input",
  "base",
  "status",
  "rollback_on_failure",
  "created_at",
  "finished_at",
] as const;

/** A `traversals` row as either driver answers it. */
export interface TraversalRow {
  execution_id: string;
  id: string;
  number: number;
  cause: string;
  spec: string | WorkflowSpec;
  input: string | Record<string, unknown>;
  base: number;
  status: string;
  rollback_on_failure: number | boolean;
  created_at: number;
  finished_at: number | null;
}

/** The values of TRAVERSAL_COLUMNS: JSON as text, the flag as 0/1 (PostgreSQL reads '1' as true). */
export function traversalValues(t: TraversalRecord): (string | number | null)[] {
  return [
    t.executionId,
    t.id,
    t.number,
    t.cause,
    JSON.stringify(t.spec),
    JSON.stringify(t.input),
    t.base,
    t.status,
    t.rollbackOnFailure ? 1 : 0,
    t.createdAt,
    t.finishedAt,
  ];
}

const parsed = <T>(value: string | T): T => (typeof value === "string" ? (JSON.parse(value) as T) : value);

export function toTraversal(row: TraversalRow): TraversalRecord {
  return {
    executionId: row.execution_id,
    id: row.id,
    number: row.number,
    cause: row.cause as TraversalCause,
    spec: parsed(row.spec),
    input: parsed(row.input),
    base: row.base,
    status: row.status as TraversalStatus,
    rollbackOnFailure: row.rollback_on_failure === true || row.rollback_on_failure === 1,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}
