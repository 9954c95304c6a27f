/**
 * How deep a JSON value nests, counted without recursion. Weft copies and walks inputs and
 * outputs recursively (structuredClone, expressions, the stores' JSON): a value nested 5,000 deep
 * overflowed the stack there, so every way in refuses one past `MAX_JSON_DEPTH` with one message.
 */

/** Deepest JSON value an input or a request body may hold. Workflow inputs are nowhere near it. */
export const MAX_JSON_DEPTH = 100;

/**
 * The nesting depth of a JSON value (a scalar is 0), counted without recursion; stops counting
 * once past `limit`.
 *
 * @example
 * jsonDepth({ a: [1] }) // 2
 */
export function jsonDepth(value: unknown, limit = MAX_JSON_DEPTH): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== "object") continue;
    const level = depth + 1;
    deepest = Math.max(deepest, level);
    if (deepest > limit) return deepest;
    for (const child of Object.values(node)) stack.push([child, level]);
  }
  return deepest;
}

/**
 * The one sentence for a value nested too deep, wherever it came from.
 *
 * @example
 * tooDeepMessage("The body", "100 levels") // "The body nests deeper than 100 levels: flatten it."
 */
export function tooDeepMessage(subject: string, limit: string): string {
  return `${subject} nests deeper than ${limit}: flatten it.`;
}
