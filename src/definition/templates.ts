/**
 * The text side of templates: finding the `${{ ... }}` expressions in strings and in deep values.
 * No evaluation here (see expressions.ts), so validation and dependency analysis stay cheap and synchronous.
 */

/** A piece of a template string: literal text, or an expression with its body and its `${{ }}` source. */
export type TemplatePart = string | { body: string; source: string };

/** A template string cut into parts; `error` says why the rest could not be read (an unclosed `${{`). */
export interface SplitTemplate {
  parts: TemplatePart[];
  error?: string;
}

const OPEN = "${{";

/**
 * Cuts a string into literal text and `${{ }}` expressions. The closing `}}` is found outside of
 * JSONata string literals and balanced braces, so `${{ {"a": {"b": 1}} }}` is one expression.
 *
 * @example
 * splitTemplate("n=${{ inputs.n }}!") // { parts: ["n=", { body: "inputs.n", source: "${{ inputs.n }}" }, "!"] }
 */
export function splitTemplate(text: string): SplitTemplate {
  const parts: TemplatePart[] = [];
  let from = 0;
  for (;;) {
    const start = text.indexOf(OPEN, from);
    if (start < 0) {
      if (from < text.length) parts.push(text.slice(from));
      return { parts };
    }
    if (start > from) parts.push(text.slice(from, start));
    const end = findClose(text, start + OPEN.length);
    if (end < 0) {
      return { parts, error: `"\${{" at character ${start + 1} has no closing "}}"` };
    }
    parts.push({ body: text.slice(start + OPEN.length, end).trim(), source: text.slice(start, end + 2) });
    from = end + 2;
  }
}

/** The index of the `}}` that closes an expression starting at `from`, or -1. */
function findClose(text: string, from: number): number {
  let depth = 0;
  let quoteChar: string | undefined;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quoteChar !== undefined) {
      if (c === "\\") i++;
      else if (c === quoteChar) quoteChar = undefined;
    } else if (c === '"' || c === "'" || c === "`") {
      quoteChar = c;
    } else if (c === "{") {
      depth++;
    } else if (c === "}") {
      if (depth === 0 && text[i + 1] === "}") return i;
      if (depth > 0) depth--;
    }
  }
  return -1;
}

/** true when the string holds `${{` (a cheap test before splitting). */
export function isTemplate(value: unknown): value is string {
  return typeof value === "string" && value.includes(OPEN);
}

/** A template string found in a deep value, with the path that leads to it. */
export interface FoundTemplate {
  path: (string | number)[];
  text: string;
  split: SplitTemplate;
}

/**
 * Every string holding `${{` in a deep value (objects and arrays are walked), with its path.
 *
 * @example
 * findTemplates({ args: ["${{ inputs.n }}"] }) // [{ path: ["args", 0], text: "${{ inputs.n }}", split: ... }]
 */
export function findTemplates(value: unknown, path: (string | number)[] = []): FoundTemplate[] {
  if (isTemplate(value)) return [{ path, text: value, split: splitTemplate(value) }];
  if (Array.isArray(value)) return value.flatMap((item, index) => findTemplates(item, [...path, index]));
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([key, item]) => findTemplates(item, [...path, key]));
  }
  return [];
}

/**
 * The bodies of every `${{ }}` expression in a deep value, in order, each once.
 *
 * @example
 * extractExpressions({ a: "${{ x }}-${{ y }}", b: ["${{ x }}"] }) // ["x", "y"]
 */
export function extractExpressions(value: unknown): string[] {
  const bodies = new Set<string>();
  for (const found of findTemplates(value)) {
    for (const part of found.split.parts) if (typeof part !== "string") bodies.add(part.body);
  }
  return [...bodies];
}
