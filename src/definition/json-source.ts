/**
 * The fast way in for JSON definitions. The YAML parser reads JSON too, but slowly (seconds for a
 * 100,000-task file); `JSON.parse` takes milliseconds. Positions are only needed when something is
 * wrong, so a JSON text is parsed natively, and only an invalid one is parsed again as YAML to place
 * its diagnostics. `JSON.parse` keeps the last of repeated keys silently: `hasDuplicateKeys` finds
 * them first, in one pass, so such a file takes the YAML way and reports them.
 */
import { jsonDepth, MAX_DEFINITION_DEPTH } from "./depth.js";

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
  // JSON.parse does not recurse on the stack; the depth check keeps the YAML limit for JSON.
  if (jsonDepth(data, MAX_DEFINITION_DEPTH) > MAX_DEFINITION_DEPTH) return { data, tooDeep: true };
  return hasDuplicateKeys(text) ? undefined : { data, tooDeep: false };
}

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const COLON = 58;

/**
 * Whether an object of a valid JSON text repeats a key. One pass: a set of keys per open object;
 * a string is a key when the next character past it (after spaces) is `:`.
 */
export function hasDuplicateKeys(text: string): boolean {
  const open: (Set<string> | null)[] = [];
  for (let at = 0; at < text.length; at++) {
    const code = text.charCodeAt(at);
    if (code === OPEN_OBJECT) open.push(new Set());
    else if (code === OPEN_ARRAY) open.push(null);
    else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) open.pop();
    else if (code === QUOTE) {
      const start = at;
      at += 1;
      while (text.charCodeAt(at) !== QUOTE) at += text.charCodeAt(at) === BACKSLASH ? 2 : 1;
      const keys = open.at(-1);
      if (keys === null || keys === undefined) continue;
      let next = at + 1;
      while (/\s/.test(text[next] ?? "")) next += 1;
      if (text.charCodeAt(next) !== COLON) continue;
      // Escapes compare by what they mean: "a" and "\u0061" are one key.
      const raw = text.slice(start, at + 1);
      const key = raw.includes("\\") ? (JSON.parse(raw) as string) : raw;
      if (keys.has(key)) return true;
      keys.add(key);
    }
  }
  return false;
}
