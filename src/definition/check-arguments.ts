/**
 * Checks each task's written `with` against its action's schema (action-arguments.ts), so a `shell`
 * task without `command` or a typo inside `with` is refused by `weft validate` rather than by a
 * worker hours later. Only literal values are checked: the issues of `${{ }}` strings are dropped, since
 * they stand for any value, so the schema workers parse with is the one used here, unchanged.
 */
import type { z } from "zod";
import { closest, quote, type Problem } from "./diagnostics.js";
import { ACTION_ARGUMENTS, EXPRESSION_STRING, type ArgumentsAction } from "./action-arguments.js";
import { formatPath } from "./schema-issues.js";
import type { TaskSpec } from "./spec.js";

type Path = (string | number)[];

/**
 * The problems of one task's `with` (and its undo's), with paths into the source document.
 * Unknown actions are reported by the schema already, so they are skipped here.
 *
 * @example
 * argumentProblems("build", { action: "shell", with: {}, ... })
 * // [{ path: ["tasks", "build", "with", "command"], message: 'task "build": "with.command" is missing, ...' }]
 */
export function argumentProblems(name: string, task: TaskSpec): Problem[] {
  const problems: Problem[] = [];
  check(name, task.action, task.with, ["tasks", name, "with"], problems);
  if (task.undo !== undefined)
    check(name, task.undo.action, task.undo.with, ["tasks", name, "undo", "with"], problems);
  return problems;
}

function check(task: string, action: string, args: unknown, base: Path, problems: Problem[]): void {
  if (!Object.hasOwn(ACTION_ARGUMENTS, action)) return;
  const schema = ACTION_ARGUMENTS[action as ArgumentsAction] as z.ZodType;
  const parsed = schema.safeParse(args);
  if (parsed.success) return;
  const prefix = `task ${quote(task)}: `;
  for (const issue of parsed.error.issues) {
    const path = [...base, ...issue.path.map((s) => (typeof s === "number" ? s : String(s)))];
    if (issue.code === "unrecognized_keys") {
      const allowed = fieldsAt(schema, issue.path);
      const inside = formatPath(path.slice(2));
      for (const key of issue.keys) {
        const guess = closest(key, allowed);
        const hint = guess ? ` (did you mean "${guess}"?)` : "";
        problems.push({
          path: [...path, key],
          at: "key",
          task,
          message: `${prefix}unknown field "${key}" in "${inside}" of action ${action}${hint}; expected one of: ${allowed.join(", ")}`,
        });
      }
      continue;
    }
    // A `${{ }}` string at the issue's place, or around it, may evaluate to anything: only a worker can tell.
    if (standsForAValue(args, issue.path)) continue;
    const value = valueAt(args, issue.path);
    const field = quote(formatPath(path.slice(2)));
    const state = value === undefined ? "is missing" : `is ${quote(value)}`;
    problems.push({
      path,
      task,
      message: `${prefix}${field} ${state}, expected ${issue.message} (action ${action})`,
    });
  }
}

/** The fields of the object schema at `path` inside `schema` (optional and nullable wrappers looked through). */
function fieldsAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: unknown = schema;
  for (const segment of [...path, undefined]) {
    // zod keeps the wrapped schema of .optional() and .nullish() in `def.innerType`.
    let def = (current as { def?: { innerType?: unknown } }).def;
    while (def?.innerType !== undefined) {
      current = def.innerType;
      def = (current as { def?: { innerType?: unknown } }).def;
    }
    const shape = (current as { shape?: Record<string, unknown> }).shape;
    if (shape === undefined) return [];
    if (segment === undefined) return Object.keys(shape);
    current = shape[String(segment)];
  }
  return [];
}

function standsForAValue(args: unknown, path: readonly PropertyKey[]): boolean {
  for (let depth = 1; depth <= path.length; depth++) {
    const value = valueAt(args, path.slice(0, depth));
    if (typeof value === "string" && EXPRESSION_STRING.test(value)) return true;
  }
  return false;
}

/** The value at `path` inside `data` (a zod issue's path), or undefined where there is none. */
export function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let current = data;
  for (const segment of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}
