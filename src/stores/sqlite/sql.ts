/**
 * Small builders of dynamic SQL. Statements built from a shape (which patch fields, how many
 * statuses) are prepared once per shape (see Queries.shaped): these run only on a cache miss,
 * except `assignments`, which computes the shape and values of every patch.
 */
import { json, type PatchColumn, type SqlValue } from "./schema.js";

/** `?, ?, ?` for `count` values. */
export function placeholders(count: number): string {
  return Array.from({ length: count }, () => "?").join(", ");
}

/**
 * A patch as SQL: its shape (the fields set: the cache key of its statement) and its values.
 * Undefined means "unchanged", as an absent key of a Partial does.
 */
export function assignments(
  patch: object,
  columns: Readonly<Record<string, PatchColumn>>,
): { shape: string; values: SqlValue[] } {
  let shape = "";
  const values: SqlValue[] = [];
  for (const field in patch) {
    const value = (patch as Record<string, unknown>)[field];
    if (value === undefined) continue;
    const column = columns[field];
    if (!column) throw new Error(`the SQLite store cannot set "${field}"`);
    shape += `${field},`;
    values.push(column.json ? json(value) : (value as SqlValue));
  }
  return { shape, values };
}

/** The SET list of a patch shape built by `assignments`. */
export function setList(shape: string, columns: Readonly<Record<string, PatchColumn>>): string {
  return shape
    .split(",")
    .filter((field) => field !== "")
    .map((field) => `${columns[field]!.column} = ?`)
    .join(", ");
}
