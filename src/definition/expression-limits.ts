/**
 * A bound on what one expression may build. JSONata's own guards stop deep recursion and long
 * runs (see `EVALUATION_LIMITS`), but within its 2 s `$pad('x', 5e8)` or a string doubled thirty
 * times allocates gigabytes and takes the worker down. So every value an expression computes, at
 * every step, is measured as it is made, and the built-ins that make a large string from small
 * arguments (`$pad`, `$join`) check the size before they allocate.
 */
import type jsonata from "jsonata";

/** The most characters of a string an expression may produce: 10 million. */
export const MAX_EXPRESSION_RESULT = 10_000_000;
/** The most items of a list an expression may produce: 1 million (JSONata stops a sequence growing past it). */
export const MAX_EXPRESSION_ITEMS = 1_000_000;

const count = (n: number) => n.toLocaleString("en-US");

/** Why a list is refused: `it would produce a list of 2,000,000 items, more than the ...`. */
export function listTooLong(size: number): string {
  return `it would produce a list of ${count(size)} items, more than the ${count(MAX_EXPRESSION_ITEMS)} an expression may produce`;
}

/** Thrown inside JSONata; `ExpressionError` then names the expression around its message. */
class ResultTooLarge extends Error {
  constructor(what: "a string" | "a list", size: number) {
    super(
      what === "a string"
        ? `it would produce a string of ${count(size)} characters, more than the ${count(MAX_EXPRESSION_RESULT)} an expression may produce`
        : listTooLong(size),
    );
  }
}

/** Called by JSONata after each step of an evaluation with the step's value. */
function checkStep(_expr: unknown, _input: unknown, _environment: unknown, result: unknown): void {
  if (typeof result === "string" && result.length > MAX_EXPRESSION_RESULT)
    throw new ResultTooLarge("a string", result.length);
  if (Array.isArray(result) && result.length > MAX_EXPRESSION_ITEMS)
    throw new ResultTooLarge("a list", result.length);
}

const codePoints = (text: string) => Array.from(text);

/** `$pad` as JSONata defines it (widths and lengths in code points), refusing a width past the bound first. */
function pad(str: string | undefined, width: number, char?: string): string | undefined {
  if (str === undefined) return undefined;
  const target = Math.abs(Math.trunc(width));
  if (target > MAX_EXPRESSION_RESULT) throw new ResultTooLarge("a string", target);
  const fill = char === undefined || char.length === 0 ? " " : char;
  const missing = target - codePoints(str).length;
  if (missing <= 0) return str;
  const unit = codePoints(fill).length;
  const padding = codePoints(fill.repeat(Math.ceil(missing / unit)))
    .slice(0, missing)
    .join("");
  return width > 0 ? str + padding : padding + str;
}

/** `$join`, refusing a result past the bound before building it. */
function join(strings: string[] | undefined, separator = ""): string | undefined {
  if (strings === undefined) return undefined;
  let size = Math.max(0, strings.length - 1) * separator.length;
  for (const item of strings) size += item.length;
  if (size > MAX_EXPRESSION_RESULT) throw new ResultTooLarge("a string", size);
  return strings.join(separator);
}

/**
 * Installs the bound on a compiled expression.
 *
 * @example
 * const expression = jsonata(body, EVALUATION_LIMITS);
 * boundResults(expression);
 */
export function boundResults(expression: jsonata.Expression): void {
  // The signatures are JSONata's own for these functions, so argument checks stay the same.
  expression.registerFunction("pad", pad as never, "<s-ns?:s>");
  expression.registerFunction("join", join as never, "<a<s>s?:s>");
  expression.assign(Symbol.for("jsonata.__evaluate_exit") as unknown as string, checkStep);
}
