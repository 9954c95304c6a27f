/**
 * Diagnostics: what is wrong with a workflow definition and where. Every check (YAML syntax,
 * schema, semantics) ends as a `Diagnostic`; they are thrown together as one `DefinitionError`,
 * so a user fixes a file in one round instead of one error per run.
 */
import { WeftError } from "../shared/errors.js";

/**
 * One problem in a workflow definition. `line` and `col` are 1-based; 0 means "no position"
 * (a definition built in TypeScript, or a file that could not be read), and is printed as `file: message`.
 *
 * @example
 * { file: "etl.yaml", line: 12, col: 12, task: "load", message: 'task "load": unknown task "dubble" in "after" ...' }
 */
export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  /** The task the problem belongs to, when it belongs to one. */
  task?: string;
  /** A sentence that quotes the bad value and says what is expected; starts with `task "NAME": ` for task problems. */
  message: string;
}

/** The `file` of diagnostics about a workflow built with the TypeScript builder (or `validateSpec`). */
export const BUILDER_FILE = "<builder>";

/**
 * Formats a diagnostic the way compilers do: `file:line:col: message`, or `file: message` without a position.
 *
 * @example
 * formatDiagnostic({ file: "a.yaml", line: 3, col: 5, message: "..." }) // "a.yaml:3:5: ..."
 */
export function formatDiagnostic(diagnostic: Diagnostic): string {
  const where =
    diagnostic.line > 0 ? `${diagnostic.file}:${diagnostic.line}:${diagnostic.col}` : diagnostic.file;
  return `${where}: ${diagnostic.message}`;
}

/**
 * A workflow definition is invalid. `diagnostics` lists every problem found (at least one);
 * the message is their `file:line:col: message` lines.
 *
 * @example
 * try { parseWorkflow(text, "etl.yaml") } catch (e) { if (e instanceof DefinitionError) e.diagnostics }
 */
export class DefinitionError extends WeftError {
  readonly diagnostics: readonly Diagnostic[];

  constructor(diagnostics: readonly Diagnostic[]) {
    super("INVALID_DEFINITION", diagnostics.map(formatDiagnostic).join("\n"));
    this.diagnostics = diagnostics;
  }
}

/**
 * How many problems a definition reports: a generated file with an error in every one of its
 * 12,000 tasks answered an 800 MB message. The rest are counted in one last line.
 */
export const MAX_REPORTED_DIAGNOSTICS = 100;

/**
 * The first `limit` diagnostics, then, when there were more, one without position that counts
 * them: `file: ... and 11,900 more errors`.
 *
 * @example
 * capDiagnostics(twelveThousand) // 100 diagnostics and "... and 11,900 more errors"
 */
export function capDiagnostics(diagnostics: Diagnostic[], limit = MAX_REPORTED_DIAGNOSTICS): Diagnostic[] {
  if (diagnostics.length <= limit) return diagnostics;
  const rest = diagnostics.length - limit;
  const last = diagnostics[limit] as Diagnostic;
  const more = `... and ${rest.toLocaleString("en-US")} more error${rest === 1 ? "" : "s"}`;
  return [...diagnostics.slice(0, limit), { file: last.file, line: 0, col: 0, message: more }];
}

/** Orders diagnostics by file position so output reads top to bottom; unpositioned ones keep their order. */
export function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  return diagnostics
    .map((diagnostic, index) => ({ diagnostic, index }))
    .sort(
      (a, b) =>
        a.diagnostic.line - b.diagnostic.line || a.diagnostic.col - b.diagnostic.col || a.index - b.index,
    )
    .map(({ diagnostic }) => diagnostic);
}

/** Quotes a value for a message: strings in double quotes, others as JSON (`undefined` as "nothing"). */
export function quote(value: unknown): string {
  if (value === undefined) return "nothing";
  // A 9,000-character name quoted whole made the message the size of the file.
  if (typeof value === "string")
    return value.length > 200 ? `${JSON.stringify(value.slice(0, 60))}...` : JSON.stringify(value);
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Describes a value and its kind for "got ..." messages: `the string "yes"`, `the number 0`, `a list`. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `the list ${quote(value)}`;
  if (typeof value === "object") return `the mapping ${quote(value)}`;
  return `the ${typeof value} ${quote(value)}`;
}

/** The candidate closest to `word` by edit distance, when close enough to be a likely typo. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/**
 * A problem found before positions are known: `path` leads into the definition document
 * (`["tasks", "load", "after", 0]`); the YAML loader turns it into a line and column, the builder into none.
 */
export interface Problem {
  path: readonly (string | number)[];
  message: string;
  task?: string;
  /** Point at the key of the last path segment rather than its value (unknown fields, duplicate names). */
  at?: "key";
}
