/**
 * Reading a task's `with` arguments: each action parses them with its schema and gets an
 * `ActionArgumentError` naming the action and the field, so every action reports bad input
 * with the same wording.
 */
import type { z } from "zod";
import {
  ACTION_ARGUMENTS,
  type ActionArguments,
  type ArgumentsAction,
} from "../definition/action-arguments.js";
import { ActionArgumentError } from "./action.js";
import { valueAt } from "../definition/check-arguments.js";

/**
 * A task's evaluated `with`, checked against its action's schema (definition/action-arguments.ts,
 * the one `weft validate` checks written definitions with). Throws `ActionArgumentError` for the
 * first bad field. Unknown fields are let through at run time: validation refuses them in new
 * definitions, and a definition stored before it did should still run.
 *
 * @example
 * const { command, env, cwd } = parseArguments("shell", args);
 */
export function parseArguments<A extends ArgumentsAction>(
  action: A,
  args: Record<string, unknown>,
): ActionArguments<A> {
  const parsed = (ACTION_ARGUMENTS[action] as z.ZodType).safeParse(args);
  if (!parsed.success) {
    const issue = parsed.error.issues.find((candidate) => candidate.code !== "unrecognized_keys");
    if (issue !== undefined) {
      const field = issue.path.map(String).join(".");
      const value = valueAt(args, issue.path);
      const got = value === undefined ? "" : `, got ${describe(value)}`;
      throw new ActionArgumentError(action, field, `must be ${issue.message}${got}`);
    }
  }
  // The schemas transform nothing, so the arguments are the parsed value.
  return args as ActionArguments<A>;
}

/** Short description of a value for error messages: its JSON form, cut to 60 characters. */
export function describe(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** true for a plain object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A parsed map of strings (environment variables, HTTP headers) with its numbers and booleans
 * turned into strings: YAML writes `PORT: 8080` as a number and an expression may yield one.
 *
 * @example
 * toStrings({ PORT: 8080 }) // { PORT: "8080" }
 */
export function toStrings(
  map: Record<string, string | number | boolean> | null | undefined,
): Record<string, string> | undefined {
  if (map === undefined || map === null) return undefined;
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(map)) result[key] = String(value);
  return result;
}
