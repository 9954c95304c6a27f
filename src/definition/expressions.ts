/**
 * `${{ ... }}` expressions, evaluated by JSONata (never `eval`) against an `ExpressionScope`.
 * This runs for every task of every execution, so each distinct expression is compiled once and
 * kept in a bounded cache, and strings without `${{` are returned without any work.
 */
import jsonata from "jsonata";
import { WeftError } from "../shared/errors.js";
import { quote } from "./diagnostics.js";
import { boundResults, listTooLong, MAX_EXPRESSION_ITEMS } from "./expression-limits.js";
import { simplePath } from "./simple-paths.js";
import { isTemplate, splitTemplate, type TemplatePart } from "./templates.js";

/**
 * What expressions read. `tasks` holds the finished tasks an expression may read (its predecessors).
 *
 * @example
 * { inputs: { n: 3 }, tasks: { extract: { output: { stdout: "42" }, status: "succeeded" } },
 *   execution: { id: "0b0f...", workflow: "etl" } }
 */
export interface ExpressionScope {
  inputs: Record<string, unknown>;
  tasks: Record<string, { output: unknown; status: string }>;
  execution: { id: string; workflow: string };
  /** In an instance of a `forEach` task: its item. */
  item?: unknown;
  /** In an instance of a `forEach` task: its item's position in the list, from 0. */
  index?: number;
  /** The payload a delegate task's callback delivered. */
  callback?: unknown;
}

/**
 * An expression could not be compiled or evaluated. `expression` is its `${{ }}` source.
 *
 * @example
 * // expression "${{ inputs.n + "a" }}" failed: The right side of the "+" operator must evaluate to a number
 */
export class ExpressionError extends WeftError {
  readonly expression: string;

  constructor(expression: string, reason: string) {
    super("EXPRESSION_FAILED", `expression ${quote(expression)} failed: ${reason}`);
    this.expression = expression;
  }
}

/**
 * Guards against runaway expressions: deep recursion hits `stack`, and since JSONata optimises tail
 * calls, a recursion that never ends hits `timeout` (ms). Real templates take microseconds. What
 * an expression may allocate meanwhile is bounded by `boundResults`.
 */
const EVALUATION_LIMITS = { timeout: 2000, stack: 500, sequence: MAX_EXPRESSION_ITEMS };
/** Enough for every expression of many workflows; past it the least recently used is compiled again. */
const CACHE_SIZE = 1000;

/** A Map used as a least-recently-used cache: re-inserting on a hit moves the entry to the end. */
class BoundedCache<V> {
  private readonly entries = new Map<string, V>();

  get(key: string, make: () => V): V {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const value = make();
    this.entries.set(key, value);
    if (this.entries.size > CACHE_SIZE) this.entries.delete(this.entries.keys().next().value as string);
    return value;
  }
}

const compiled = new BoundedCache<jsonata.Expression>();
const templates = new BoundedCache<TemplatePart[]>();

interface JsonataError {
  message: string;
  code?: string;
  value?: unknown;
  position?: number;
}

function reason(error: unknown): string {
  const { code, value, position } = error as JsonataError;
  // JSONata says "the maximum sequence length of <attempted size>": say what the limit is.
  const message = code === "D2015" ? listTooLong(Number(value)) : (error as JsonataError).message;
  return position === undefined ? String(message) : `${message} (at character ${position})`;
}

/** Compiles a body once; throws the JSONata syntax error (cached misses are not stored). */
function compile(body: string): jsonata.Expression {
  return compiled.get(body, () => {
    if (body.trim() === "") throw new Error("the expression is empty");
    const expression = jsonata(body, EVALUATION_LIMITS);
    boundResults(expression);
    return expression;
  });
}

/**
 * Why a body is not a valid JSONata expression, or null when it is.
 *
 * @example
 * checkExpressionSyntax("tasks.a.output +") // "Unexpected end of expression (at character 16)"
 */
export function checkExpressionSyntax(body: string): string | null {
  if (simplePath(body) !== undefined) return null;
  try {
    compile(body);
    return null;
  } catch (error) {
    return reason(error);
  }
}

/** The JSONata syntax tree of a body (from the compile cache), or undefined when it does not parse. */
export function expressionAst(body: string): jsonata.ExprNode | undefined {
  try {
    return compile(body).ast();
  } catch {
    return undefined;
  }
}

async function evaluateExpression(
  part: { body: string; source: string },
  scope: ExpressionScope,
): Promise<unknown> {
  let expression: jsonata.Expression;
  try {
    expression = compile(part.body);
  } catch (error) {
    throw new ExpressionError(part.source, `it is not a valid expression: ${reason(error)}`);
  }
  try {
    return plain(await expression.evaluate(scope));
  } catch (error) {
    throw new ExpressionError(part.source, reason(error));
  }
}

function partsOf(text: string): TemplatePart[] {
  return templates.get(text, () => {
    const split = splitTemplate(text);
    if (split.error !== undefined) throw new ExpressionError(text, split.error);
    return split.parts;
  });
}

async function evaluateString(text: string, scope: ExpressionScope): Promise<unknown> {
  if (!isTemplate(text)) return text;
  const parts = partsOf(text);
  const only = parts[0];
  if (parts.length === 1 && only !== undefined && typeof only !== "string")
    return evaluateExpression(only, scope);
  let result = "";
  for (const part of parts) {
    if (typeof part === "string") result += part;
    else result += interpolate(await evaluateExpression(part, scope));
  }
  return result;
}

function interpolate(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  return JSON.stringify(value) ?? "";
}

/**
 * Evaluates every `${{ }}` in a deep value. A string that is exactly one expression yields its raw
 * value (number, object, ...); in other strings each result is interpolated (strings as is, null and
 * undefined as nothing, other values as JSON). Throws `ExpressionError` quoting the failing expression.
 *
 * @example
 * await evaluateTemplate({ n: "${{ inputs.n * 2 }}", s: "n=${{ inputs.n }}" }, scope) // { n: 6, s: "n=3" }
 */
export async function evaluateTemplate(value: unknown, scope: ExpressionScope): Promise<unknown> {
  if (typeof value === "string") return evaluateString(value, scope);
  if (Array.isArray(value)) {
    const result: unknown[] = [];
    for (const item of value) result.push(await evaluateTemplate(item, scope));
    return result;
  }
  if (value !== null && typeof value === "object") {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) result[key] = await evaluateTemplate(item, scope);
    return result;
  }
  return value;
}

/**
 * Evaluates a `when` condition (its `${{ }}` string) and casts the result as JSONata's `$boolean` does:
 * undefined, null, false, 0, "", [], {} and functions are false.
 *
 * @example
 * await evaluateCondition("${{ inputs.count > 1 }}", scope) // true
 */
export async function evaluateCondition(expression: string, scope: ExpressionScope): Promise<boolean> {
  return jsonataBoolean(await evaluateTemplate(expression, scope));
}

/** JSONata's `$boolean`: an array is true when one of its members is (a single member decides alone). */
export function jsonataBoolean(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(jsonataBoolean);
  if (typeof value === "string") return value.length > 0;
  if (typeof value === "number") return value !== 0;
  if (typeof value === "boolean") return value;
  if (value !== null && typeof value === "object") return Object.keys(value).length > 0;
  return false;
}

/**
 * Makes a JSONata result plain data: its result arrays carry a `sequence` flag (which breaks deep
 * equality) and it may return functions (which JSON cannot hold). Unchanged parts keep their identity.
 */
function plain(value: unknown): unknown {
  if (typeof value === "function") return undefined;
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined = Object.hasOwn(value, "sequence") ? [...value] : undefined;
    value.forEach((item, index) => {
      const clean = plain(item);
      if (clean !== item) (copy ??= [...value])[index] = clean;
    });
    return copy ?? value;
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const clean = plain(item);
    if (clean === item) continue;
    copy ??= { ...value };
    if (clean === undefined) delete copy[key];
    else copy[key] = clean;
  }
  return copy ?? value;
}
