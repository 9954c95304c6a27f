/**
 * From paths to places: maps a `Problem`'s path (`["tasks", "load", "after", 0]`) to the line and
 * column of that node in the YAML source, and turns the YAML parser's own errors into diagnostics.
 */
import {
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Document,
  type LineCounter,
  type Node,
} from "yaml";
import { quote, type Diagnostic, type Problem } from "./diagnostics.js";
import { formatPath } from "./schema-issues.js";

type Path = readonly (string | number)[];

/**
 * Locates problems in one parsed YAML document.
 *
 * @example
 * const doc = parseDocument(text, { lineCounter });
 * new SourcePositions("etl.yaml", doc, lineCounter).locate({ path: ["tasks", "load"], message: "..." })
 */
export class SourcePositions {
  constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lineCounter: LineCounter,
  ) {}

  /** The diagnostic for a problem: at the node its path names, or the nearest place that exists. */
  locate(problem: Problem): Diagnostic {
    const offset = problem.at === "key" ? this.keyOffset(problem.path) : this.valueOffset(problem.path);
    return this.at(offset, problem.message, problem.task);
  }

  /** A diagnostic at a character offset of the source (0 when nothing better is known: line 1, col 1). */
  at(offset: number, message: string, task?: string): Diagnostic {
    const { line, col } = this.lineCounter.linePos(offset);
    return task === undefined
      ? { file: this.file, line, col, message }
      : { file: this.file, line, col, task, message };
  }

  private keyOffset(path: Path): number {
    const key = this.keyNode(path);
    return key?.range?.[0] ?? this.valueOffset(path);
  }

  /**
   * The start of the node at `path`. A missing node is placed at its nearest ancestor: inside a
   * scalar (`after: a` read as `after[0]`) at the scalar, inside a mapping at the mapping's key, so
   * "task "a": "action" is missing" points at `a:`.
   */
  private valueOffset(path: Path): number {
    for (let depth = path.length; depth >= 0; depth--) {
      const prefix = path.slice(0, depth);
      const node = depth === 0 ? this.doc.contents : (this.doc.getIn(prefix, true) as Node | undefined);
      if (node === undefined || node === null) continue;
      if (depth === path.length || !isCollection(node)) return node.range?.[0] ?? 0;
      return this.keyNode(prefix)?.range?.[0] ?? node.range?.[0] ?? 0;
    }
    return 0;
  }

  /** The key node of the pair at `path` in its parent mapping. */
  private keyNode(path: Path): Node | undefined {
    if (path.length === 0) return undefined;
    const parent = path.length === 1 ? this.doc.contents : this.doc.getIn(path.slice(0, -1), true);
    if (!isMap(parent)) return undefined;
    const last = path.at(-1);
    const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === String(last));
    return isScalar(pair?.key) ? pair.key : undefined;
  }

  /**
   * The YAML parser's errors as diagnostics. Duplicate keys are named for what they are (a duplicate
   * task name is the common case); other errors are syntax errors and stop the checks (`fatal`).
   */
  yamlErrors(): { diagnostics: Diagnostic[]; fatal: boolean } {
    const diagnostics: Diagnostic[] = [];
    let fatal = false;
    for (const error of this.doc.errors) {
      const offset = error.pos[0];
      if (error.code === "DUPLICATE_KEY") {
        const path = findKeyPath(this.doc.contents, offset, []);
        if (path !== undefined) {
          diagnostics.push(this.duplicate(offset, path));
          continue;
        }
      }
      fatal = true;
      diagnostics.push(this.at(offset, `invalid YAML: ${error.message}`));
    }
    return { diagnostics, fatal };
  }

  private duplicate(offset: number, path: Path): Diagnostic {
    const name = String(path.at(-1));
    const parent = path.slice(0, -1);
    if (parent.length === 1 && parent[0] === "tasks") {
      return this.at(offset, `duplicate task name ${quote(name)}: each task needs a name of its own`, name);
    }
    if (parent.length === 1 && parent[0] === "inputs") {
      return this.at(offset, `duplicate input ${quote(name)}: each input needs a name of its own`);
    }
    const where = parent.length === 0 ? "the workflow" : quote(formatPath(parent));
    const task = parent[0] === "tasks" && typeof parent[1] === "string" ? parent[1] : undefined;
    const prefix = task === undefined ? "" : `task ${quote(task)}: `;
    const rest =
      task === undefined ? where : parent.length === 2 ? "the task" : quote(formatPath(parent.slice(2)));
    return this.at(offset, `${prefix}duplicate field ${quote(name)} in ${rest}`, task);
  }
}

/** The path of the mapping key that starts at `offset`, searching the whole document. */
function findKeyPath(
  node: unknown,
  offset: number,
  path: (string | number)[],
): (string | number)[] | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue;
      const key = String(pair.key.value);
      if (pair.key.range?.[0] === offset) return [...path, key];
      const found = findKeyPath(pair.value, offset, [...path, key]);
      if (found) return found;
    }
  } else if (isSeq(node)) {
    for (const [index, item] of node.items.entries()) {
      const found = findKeyPath(item, offset, [...path, index]);
      if (found) return found;
    }
  }
  return undefined;
}
