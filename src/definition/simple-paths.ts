/**
 * Plain field paths (`tasks.extract.output`, `` tasks.`load-db`.status ``, `inputs.count`): by far
 * the most common expressions, read without JSONata's parser. That parser builds its symbol table
 * on every call (about 100 µs), which made validating 100,000 tasks take tens of seconds; these
 * paths need only a regular expression. Anything else still goes through JSONata.
 */

/** A name JSONata reads as a field: ASCII identifiers (not its keywords), or any text in backticks. */
const NAME = "(?:[A-Za-z_][A-Za-z0-9_]*|`[^`]+`)";
const SIMPLE_PATH = new RegExp(`^\\s*${NAME}(?:\\s*\\.\\s*${NAME})*\\s*$`);
const SEGMENT = new RegExp(NAME, "g");
/** Words JSONata reads as operators or values, not as field names. */
const KEYWORDS: ReadonlySet<string> = new Set(["and", "or", "in", "true", "false", "null", "function"]);

/**
 * The field names of a body that is a plain path, or undefined when it is anything else (JSONata
 * must parse it). Every body this answers for is a valid JSONata path of exactly those names.
 *
 * @example
 * simplePath(" tasks.`load-db`.output ") // ["tasks", "load-db", "output"]
 * simplePath("tasks.a.output + 1") // undefined
 */
export function simplePath(body: string): string[] | undefined {
  if (!SIMPLE_PATH.test(body)) return undefined;
  const names: string[] = [];
  for (const [segment] of body.matchAll(SEGMENT)) {
    if (segment.startsWith("`")) names.push(segment.slice(1, -1));
    else if (KEYWORDS.has(segment)) return undefined;
    else names.push(segment);
  }
  return names;
}
