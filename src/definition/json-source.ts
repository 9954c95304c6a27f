/**
 * The fast way in for JSON definitions. The YAML parser reads JSON too, but slowly (seconds for a
 * 100,000-task file); `JSON.parse` takes milliseconds. Positions are only needed when something is
 * wrong, so a JSON text is parsed natively, and only an invalid one is parsed again as YAML to place
 * its diagnostics. `JSON.parse` keeps the last of repeated keys silently: `hasDuplicateKeys` finds
 * them first, in the pass that measures the depth, so such a file takes the YAML way and reports them.
 */
import { MAX_DEFINITION_DEPTH } from "./depth.js";

/**
 * The parsed value of a text that is a JSON object without repeated keys, nested no deeper than
 * `MAX_DEFINITION_DEPTH`; undefined for anything else (YAML, invalid JSON, repeated keys).
 *
 * @example
 * parseJsonDefinition('{"name": "x", "tasks": {}}') // { name: "x", tasks: {} }
 * parseJsonDefinition("name: x") // undefined
 */
export function parseJsonDefinition(text: string): { data: unknown; tooDeep: boolean } | undefined {
  if (!/^\s*\{/.test(text)) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  const scan = scanJson(text);
  // JSON.parse does not recurse on the stack; the depth check keeps the YAML limit for JSON.
  if (scan.depth > MAX_DEFINITION_DEPTH) return { data, tooDeep: true };
  return scan.duplicateKeys ? undefined : { data, tooDeep: false };
}

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const COLON = 58;

/**
 * Whether an object of a valid JSON text repeats a key, and how deep the text nests. One pass:
 * a set of keys per open object; a string is a key when the next character past it (after
 * spaces) is `:`.
 *
 * @example
 * scanJson('{"a": [1], "a": 2}') // { duplicateKeys: true, depth: 2 }
 */
export function scanJson(text: string): { duplicateKeys: boolean; depth: number } {
  const open: (Set<string> | null)[] = [];
  let depth = 0;
  for (let at = 0; at < text.length; at++) {
    const code = text.charCodeAt(at);
    if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      open.push(code === OPEN_OBJECT ? new Set() : null);
      depth = Math.max(depth, open.length);
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) open.pop();
    else if (code === QUOTE) {
      const start = at;
      at += 1;
      while (text.charCodeAt(at) !== QUOTE) at += text.charCodeAt(at) === BACKSLASH ? 2 : 1;
      const keys = open.at(-1);
      if (keys === null || keys === undefined) continue;
      let next = at + 1;
      while (isSpace(text.charCodeAt(next))) next += 1;
      if (text.charCodeAt(next) !== COLON) continue;
      // Escapes compare by what they mean: "a" and "\u0061" are one key.
      const raw = text.slice(start, at + 1);
      const key = raw.includes("\\") ? (JSON.parse(raw) as string) : raw.slice(1, -1);
      if (keys.has(key)) return { duplicateKeys: true, depth };
      keys.add(key);
    }
  }
  return { duplicateKeys: false, depth };
}

/** JSON's four whitespace characters. */
function isSpace(code: number): boolean {
  return code === 32 || code === 10 || code === 13 || code === 9;
}
