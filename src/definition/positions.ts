/**
 * From paths to places: maps a `Problem`'s path (`["tasks", "load", "after", 0]`) to the line and
 * column of that node in the YAML source, and turns the YAML parser's own errors into diagnostics.
 */
import {
  isCollection,
  isMap,
  isScalar,
  isSeq,
  type Document,
  type LineCounter,
  type Node,
  type Pair,
  type YAMLMap,
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
  /** Each mapping's pairs by key, built on first use: `doc.getIn` searches a mapping's pairs one by one. */
  private readonly pairsByKey = new WeakMap<YAMLMap, Map<string, Pair>>();

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
      const node = this.nodeAt(prefix);
      if (node === undefined || node === null) continue;
      if (depth === path.length || !isCollection(node)) return node.range?.[0] ?? 0;
      return this.keyNode(prefix)?.range?.[0] ?? node.range?.[0] ?? 0;
    }
    return 0;
  }

  /** The key node of the pair at `path` in its parent mapping. */
  private keyNode(path: Path): Node | undefined {
    if (path.length === 0) return undefined;
    const parent = this.nodeAt(path.slice(0, -1));
    if (!isMap(parent)) return undefined;
    const pair = this.pair(parent, String(path.at(-1)));
    return isScalar(pair?.key) ? pair.key : undefined;
  }

  /** The node at `path`, like `doc.getIn(path, true)` but in time linear in the path's length. */
  private nodeAt(path: Path): Node | undefined {
    let node: unknown = this.doc.contents;
    for (const segment of path) {
      if (isMap(node)) node = this.pair(node, String(segment))?.value;
      else if (isSeq(node) && typeof segment === "number") node = node.items[segment];
      else return undefined;
    }
    return (node ?? undefined) as Node | undefined;
  }

  /** The pair of a mapping with a scalar key; the first one, as the source has it, when the key repeats. */
  private pair(map: YAMLMap, key: string): Pair | undefined {
    let pairs = this.pairsByKey.get(map);
    if (pairs === undefined) {
      pairs = new Map();
      for (const item of map.items) {
        if (!isScalar(item.key)) continue;
        const name = String(item.key.value);
        if (!pairs.has(name)) pairs.set(name, item as Pair);
      }
      this.pairsByKey.set(map, pairs);
    }
    return pairs.get(key);
  }

  /**
   * The YAML parser's errors as diagnostics, then duplicate keys, named for what they are (a
   * duplicate task name is the common case). Syntax errors stop the checks (`fatal`); duplicates do
   * not. The document must be parsed with `uniqueKeys: false`: the parser's own check compares each
   * key with every other of its mapping, which took seconds on a definition of 20,000 tasks.
   */
  yamlErrors(): { diagnostics: Diagnostic[]; fatal: boolean } {
    const diagnostics: Diagnostic[] = [];
    for (const error of this.doc.errors) {
      diagnostics.push(this.at(error.pos[0], `invalid YAML: ${error.message}`));
    }
    if (diagnostics.length > 0) return { diagnostics, fatal: true };
    for (const { offset, path } of duplicateKeys(this.doc.contents))
      diagnostics.push(this.duplicate(offset, path));
    return { diagnostics, fatal: false };
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

/** Every repeated scalar key of every mapping, with its offset and path, in one pass over the document. */
function duplicateKeys(root: unknown): { offset: number; path: (string | number)[] }[] {
  const found: { offset: number; path: (string | number)[] }[] = [];
  // An explicit stack: the depth is bounded before parsing, but a loop needs no such argument.
  const stack: [unknown, (string | number)[]][] = [[root, []]];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        if (!isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        if (seen.has(key)) found.push({ offset: pair.key.range?.[0] ?? 0, path: [...path, key] });
        else seen.add(key);
        stack.push([pair.value, [...path, key]]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => stack.push([item, [...path, index]]));
    }
  }
  return found;
}
