/**
 * Readers for a task's `with` arguments. Each one checks one field and throws an
 * `ActionArgumentError` naming the action and the field, so every action reports bad input
 * with the same wording.
 */
import { ActionArgumentError } from "./action.js";

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
 * `with[field]` as a string, or undefined when absent.
 *
 * @example
 * optionalString("http", args, "method") // "GET" | undefined
 */
export function optionalString(
  action: string,
  args: Record<string, unknown>,
  field: string,
): string | undefined {
  const value = args[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") {
    throw new ActionArgumentError(action, field, `must be a string, got ${describe(value)}`);
  }
  return value;
}

/** `with[field]` as a non-empty string; absent or empty is an error. */
export function requireString(action: string, args: Record<string, unknown>, field: string): string {
  const value = optionalString(action, args, field);
  if (value === undefined) throw new ActionArgumentError(action, field, "must be a string");
  if (value.trim() === "") throw new ActionArgumentError(action, field, "must not be empty");
  return value;
}

/** `with[field]` as a boolean, or undefined when absent. */
export function optionalBoolean(
  action: string,
  args: Record<string, unknown>,
  field: string,
): boolean | undefined {
  const value = args[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") {
    throw new ActionArgumentError(action, field, `must be true or false, got ${describe(value)}`);
  }
  return value;
}

/**
 * `with[field]` as an object of strings (environment variables, HTTP headers), or undefined
 * when absent. Numbers and booleans are turned into strings, because YAML writes `PORT: 8080`
 * as a number and an expression may yield one; anything else is an error.
 */
export function optionalStringMap(
  action: string,
  args: Record<string, unknown>,
  field: string,
): Record<string, string> | undefined {
  const value = args[field];
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) {
    throw new ActionArgumentError(action, field, `must be an object of strings, got ${describe(value)}`);
  }
  const result: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item === "string") result[key] = item;
    else if (typeof item === "number" || typeof item === "boolean") result[key] = String(item);
    else {
      throw new ActionArgumentError(
        action,
        `${field}.${key}`,
        `must be a string, number or boolean, got ${describe(item)}`,
      );
    }
  }
  return result;
}
