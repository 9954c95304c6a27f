/**
 * Text renderings of a graph for people: Mermaid (Markdown, docs, the dashboard) and Graphviz DOT.
 * Both take the output of `Graph.edges()`, whose `[n, null]` entries are exactly the lone nodes.
 */

// The shape of `GraphEdge`, restated so this file does not import graph.ts (which imports it).
type Edge<N> = readonly [from: N, to: N | null];

/** Options shared by the renderers: `label` defaults to `String(node)`. */
export interface RenderOptions<N> {
  label?: (node: N) => string;
}

// Bare Mermaid ids: letters, digits and underscores, minus the words its grammar reserves.
const MERMAID_ID = /^[A-Za-z][A-Za-z0-9_]*$/;
const MERMAID_RESERVED = new Set(
  "end graph flowchart subgraph direction click call href style classdef class linkstyle default interpolate tb td bt rl lr acctitle accdescr".split(
    " ",
  ),
);
// Inside a quoted Mermaid label, these are written as entity codes ("#quot;" style) or a line break.
const MERMAID_ESCAPES: Record<string, string> = {
  "#": "#35;",
  '"': "#quot;",
  "<": "#lt;",
  ">": "#gt;",
  "`": "#96;",
};

/**
 * `flowchart TD` text: a line per node that needs a label or has no edge, then `  a --> b` per edge.
 * A node whose name is not a safe Mermaid id gets a generated one (`n3`) and its name as label.
 * No trailing newline.
 *
 * @example
 * renderMermaid(["a", "b"], [["a", "b"]]); // "flowchart TD\n  a --> b"
 */
export function renderMermaid<N>(
  nodes: readonly N[],
  edges: readonly Edge<N>[],
  options: RenderOptions<N> = {},
): string {
  const ids = assignIds(nodes, (name) =>
    MERMAID_ID.test(name) && !MERMAID_RESERVED.has(name.toLowerCase()) ? name : undefined,
  );
  const quote = (text: string): string =>
    `"${text.replace(/\r?\n|[#"<>`]/g, (c) => MERMAID_ESCAPES[c] ?? "<br>")}"`;
  return render(["flowchart TD"], nodes, edges, ids, options, {
    declare: (id, label) => (label === id ? `  ${id}` : `  ${id}[${quote(label)}]`),
    edge: (from, to) => `  ${from} --> ${to}`,
    close: [],
  });
}

/**
 * Graphviz text: `digraph "name" {`, a line per node that needs a label or has no edge, then
 * `  "a" -> "b";` per edge, then `}`. Ids are always quoted; `name` defaults to "weft".
 * No trailing newline.
 *
 * @example
 * renderDot(["a", "b"], [["a", "b"]]); // 'digraph "weft" {\n  "a" -> "b";\n}'
 */
export function renderDot<N>(
  nodes: readonly N[],
  edges: readonly Edge<N>[],
  options: RenderOptions<N> & { name?: string } = {},
): string {
  const ids = assignIds(nodes, (name) => name);
  // DOT only unescapes \" in ids, and labels read \\ and \n: one escaping serves both and stays injective.
  const quote = (text: string): string =>
    `"${text.replace(/\\|"|\r?\n/g, (c) => (c === "\\" ? "\\\\" : c === '"' ? '\\"' : "\\n"))}"`;
  return render([`digraph ${quote(options.name ?? "weft")} {`], nodes, edges, ids, options, {
    declare: (id, label) => (label === id ? `  ${quote(id)};` : `  ${quote(id)} [label=${quote(label)}];`),
    edge: (from, to) => `  ${quote(from)} -> ${quote(to)};`,
    close: ["}"],
  });
}

interface Syntax {
  declare: (id: string, label: string) => string;
  edge: (from: string, to: string) => string;
  close: string[];
}

function render<N>(
  lines: string[],
  nodes: readonly N[],
  edges: readonly Edge<N>[],
  ids: Map<N, string>,
  options: RenderOptions<N>,
  syntax: Syntax,
): string {
  const labelled = new Set<N>();
  for (const node of nodes) {
    const id = ids.get(node)!;
    const label = options.label ? options.label(node) : String(node);
    if (label === id) continue;
    lines.push(syntax.declare(id, label));
    labelled.add(node);
  }
  for (const [from, to] of edges) {
    if (to !== null) lines.push(syntax.edge(ids.get(from)!, ids.get(to)!));
    else if (!labelled.has(from)) lines.push(syntax.declare(ids.get(from)!, ids.get(from)!));
  }
  return [...lines, ...syntax.close].join("\n");
}

/**
 * A distinct id per node: its preferred id (from `String(node)`) when it has one and no earlier node
 * took it, else `n<index>`, bumped past every preferred id so generated ids never collide either.
 */
function assignIds<N>(nodes: readonly N[], prefer: (name: string) => string | undefined): Map<N, string> {
  const preferred = nodes.map((node) => prefer(String(node)));
  const taken = new Set(preferred.filter((id) => id !== undefined));
  const used = new Set<string>();
  const ids = new Map<N, string>();
  nodes.forEach((node, index) => {
    let id = preferred[index];
    if (id === undefined || used.has(id)) {
      let k = index;
      while (taken.has(`n${k}`) || used.has(`n${k}`)) k++;
      id = `n${k}`;
    }
    used.add(id);
    ids.set(node, id);
  });
  return ids;
}
