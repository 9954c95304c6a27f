/**
 * Turns zod issues into `Problem`s whose messages are sentences: the task, the field, the bad
 * value and what is expected (`task "x": "timeout" is "1 hour", expected a duration (...)`).
 * The schema's own `error` strings hold the "expected" part; the rest is built here from the issue's path.
 */
import type { z } from "zod";
import { closest, quote, type Problem } from "./diagnostics.js";
import { FIELDS } from "./schema.js";

type Path = readonly (string | number)[];

/** The problems of a failed schema parse, and what to remove from the document so the rest can still be checked. */
export interface SchemaReport {
  problems: Problem[];
  /**
   * Edits that make the document pass the schema while keeping every valid part, so the semantic checks
   * (unknown tasks, cycles, expressions) still run; `null` when no such edit is known (a required field is missing).
   */
  repairs: Repair[] | null;
}

/** Replace the value at `path` with `value` (`undefined` deletes it). */
export interface Repair {
  path: Path;
  value: unknown;
}

/**
 * Reports every issue of a zod error against the parsed document `data`.
 *
 * @example
 * const result = workflowSchema.safeParse(data);
 * if (!result.success) schemaProblems(result.error, data).problems
 */
export function schemaProblems(error: z.ZodError, data: unknown): SchemaReport {
  const problems: Problem[] = [];
  let repairs: Repair[] | null = [];
  for (const issue of error.issues) {
    const path = issue.path.map((segment) => (typeof segment === "number" ? segment : String(segment)));
    const task = path[0] === "tasks" && typeof path[1] === "string" ? path[1] : undefined;
    const withTask = (problem: Problem): Problem => (task === undefined ? problem : { ...problem, task });
    if (issue.code === "unrecognized_keys") {
      const allowed = fieldsAt(path);
      for (const key of issue.keys) {
        const guess = closest(key, allowed);
        const hint = guess ? ` (did you mean "${guess}"?)` : "";
        problems.push(
          withTask({
            path: [...path, key],
            at: "key",
            message: `${prefixOf(path)}unknown field "${key}"${hint}; expected one of: ${allowed.join(", ")}`,
          }),
        );
        repairs?.push({ path: [...path, key], value: undefined });
      }
      continue;
    }
    if (issue.code === "invalid_key") {
      const kind = path[0] === "tasks" ? "task" : "input";
      const expected = issue.issues[0]?.message ?? `a valid ${kind} name`;
      problems.push(
        withTask({
          path,
          at: "key",
          message: `${kind} name ${quote(path.at(-1))} is invalid, expected ${expected}`,
        }),
      );
      // Dropping a task would make every reference to it "unknown": skip the semantic checks instead.
      if (kind === "task") repairs = null;
      else repairs?.push({ path, value: undefined });
      continue;
    }
    const value = valueAt(data, path);
    problems.push(withTask({ path, message: messageOf(path, value, issue) }));
    if (value === undefined || path.length === 0 || (path[0] === "tasks" && path.length <= 2)) {
      // Nothing to drop, or dropping a whole task would make every reference to it "unknown".
      repairs = null;
    } else if (path.at(-1) === "action" || (path.length === 1 && path[0] === "name")) {
      // Required fields get a valid stand-in instead of being removed.
      repairs?.push({ path, value: path[0] === "name" ? "workflow" : "noop" });
    } else {
      // A bad list element removes the whole list: a hole would fail the schema again.
      const parent = path.slice(0, -1);
      repairs?.push({ path: Array.isArray(valueAt(data, parent)) ? parent : path, value: undefined });
    }
  }
  return { problems, repairs };
}

function messageOf(path: Path, value: unknown, issue: z.core.$ZodIssue): string {
  if (path.length === 0 && (value === null || value === undefined)) {
    return 'the file holds no workflow, expected a mapping with at least "name" and "tasks"';
  }
  const subject = subjectOf(path);
  if (path.at(-1) === "action" && value === "function") {
    return `${prefixOf(path)}action "function" is only available from the TypeScript builder (a task given a function); expected ${issue.message}`;
  }
  const state = value === undefined ? "is missing" : `is ${quote(value)}`;
  const guess =
    issue.code === "invalid_value" && typeof value === "string"
      ? closest(value, issue.values.map(String))
      : undefined;
  const hint = guess === undefined ? "" : ` (did you mean "${guess}"?)`;
  return `${subject} ${state}${hint}, expected ${issue.message}`;
}

/** Applies repairs to a deep copy of `data`. */
export function applyRepairs(data: unknown, repairs: readonly Repair[]): unknown {
  const copy = structuredClone(data);
  for (const { path, value } of repairs) {
    const parent = valueAt(copy, path.slice(0, -1));
    const key = path.at(-1);
    if (parent === null || typeof parent !== "object" || key === undefined) continue;
    const record = parent as Record<string | number, unknown>;
    if (value === undefined) delete record[key];
    else record[key] = value;
  }
  return copy;
}

/** The value at `path` in plain data, or undefined. */
export function valueAt(data: unknown, path: Path): unknown {
  let current = data;
  for (const segment of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}

/** `task "x": ` for paths inside a task, `input "n": ` inside an input, else nothing. */
function prefixOf(path: Path): string {
  if (path[0] === "tasks" && path.length >= 2) return `task ${quote(path[1])}: `;
  if (path[0] === "inputs" && path.length >= 2) return `input ${quote(path[1])}: `;
  return "";
}

/** How a message names the thing at `path`: `task "x": "retry.attempts"`, `task "x"`, `the workflow`. */
function subjectOf(path: Path): string {
  if (path.length === 0) return "the workflow";
  const owned = (path[0] === "tasks" || path[0] === "inputs") && path.length >= 2;
  if (owned && path.length === 2) return `${path[0] === "tasks" ? "task" : "input"} ${quote(path[1])}`;
  const rest = owned ? path.slice(2) : path;
  return `${prefixOf(path)}${quote(formatPath(rest))}`;
}

/** `["retry", "attempts"]` -> `retry.attempts`, `["after", 1]` -> `after[1]`. */
export function formatPath(path: Path): string {
  return path
    .map((segment, index) =>
      typeof segment === "number" ? `[${segment}]` : index === 0 ? segment : `.${segment}`,
    )
    .join("");
}

/** The fields the mapping at `path` accepts, from the shape of the path. */
function fieldsAt(path: Path): readonly string[] {
  const last = path.at(-1);
  if (path.length === 0) return FIELDS.workflow;
  if (last === "retry") return FIELDS.retry;
  if (last === "undo") return FIELDS.undo;
  if (path.length === 1 && last === "defaults") return FIELDS.defaults;
  if (path[0] === "inputs" && path.length === 2) return FIELDS.input;
  return FIELDS.task;
}
