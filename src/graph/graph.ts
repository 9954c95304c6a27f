import { criticalPathIndices } from "./critical-path.js";
import { CycleError } from "./errors.js";
import { renderDot, renderMermaid } from "./render.js";
import { findCycleIndices, topologicalIndices } from "./topological-order.js";
import { transitiveReductionIndices } from "./transitive-reduction.js";

/**
 * One entry of a graph's edge list: `from` must finish before `to`; `[n, null]` is a node with no edge.
 *
 * @example
 * const edges: GraphEdge[] = [["fetch", "parse"], ["lint", null]];
 */
export type GraphEdge<N> = readonly [from: N, to: N | null];

/**
 * A directed graph of dependencies; acyclic wherever an order is asked for. Nodes are compared with
 * `===` (they are Map keys) and kept in insertion order, which makes every answer deterministic.
 * Lists of predecessors and successors follow the order the edges were added. A node the graph does
 * not hold has no neighbours: queries about it answer empty rather than throw.
 *
 * @example
 * const g = new Graph([["fetch", "parse"], ["parse", "store"], ["fetch", "store"]]);
 * g.topologicalOrder();               // ["fetch", "parse", "store"]
 * g.transitiveReduction().edgeCount;  // 2: fetch -> store is implied by fetch -> parse -> store
 */
export class Graph<N = string> {
  // Nodes are numbered by insertion; the algorithms work on these indices and typed arrays.
  readonly #index = new Map<N, number>();
  readonly #nodes: N[] = [];
  readonly #out: Set<number>[] = [];
  readonly #in: Set<number>[] = [];
  #edgeCount = 0;

  /** Builds a graph from an edge list such as `edges()` returns. */
  constructor(edges: Iterable<GraphEdge<N>> = []) {
    for (const [from, to] of edges) {
      if (to === null) this.addNode(from);
      else this.addEdge(from, to);
    }
  }

  /** Adds a node; adding it again changes nothing. @example g.addNode("lint") */
  addNode(node: N): this {
    this.#add(node);
    return this;
  }

  /**
   * Adds the edge `from -> to` (`from` finishes first), and the nodes if missing. A duplicate edge is
   * ignored. A self-loop is accepted and reported as the cycle `[a, a]`.
   *
   * @example
   * new Graph().addEdge("fetch", "parse").addEdge("parse", "store");
   */
  addEdge(from: N, to: N): this {
    const u = this.#add(from);
    const v = this.#add(to);
    if (!this.#out[u]!.has(v)) {
      this.#out[u]!.add(v);
      this.#in[v]!.add(u);
      this.#edgeCount++;
    }
    return this;
  }

  /** Whether the graph holds `node`. @example new Graph([["a", null]]).hasNode("a") // true */
  hasNode(node: N): boolean {
    return this.#index.has(node);
  }

  /** Whether the edge `from -> to` exists. @example new Graph([["a", "b"]]).hasEdge("b", "a") // false */
  hasEdge(from: N, to: N): boolean {
    const u = this.#index.get(from);
    const v = this.#index.get(to);
    return u !== undefined && v !== undefined && this.#out[u]!.has(v);
  }

  /** The number of nodes. @example new Graph([["a", "b"]]).size // 2 */
  get size(): number {
    return this.#nodes.length;
  }

  /** The number of edges. @example new Graph([["a", "b"]]).edgeCount // 1 */
  get edgeCount(): number {
    return this.#edgeCount;
  }

  /** The nodes in insertion order. @example new Graph([["b", "a"]]).nodes() // ["b", "a"] */
  nodes(): N[] {
    return [...this.#nodes];
  }

  /**
   * Every edge, grouped by source node in insertion order, plus `[n, null]` for each node with no edge
   * at all, so `new Graph(g.edges())` equals `g` (node order may differ: an edge adds its source first).
   *
   * @example
   * new Graph<string>().addEdge("a", "b").addNode("c").edges(); // [["a", "b"], ["c", null]]
   */
  edges(): GraphEdge<N>[] {
    const edges: GraphEdge<N>[] = [];
    this.#nodes.forEach((node, u) => {
      if (this.#out[u]!.size === 0 && this.#in[u]!.size === 0) edges.push([node, null]);
      for (const v of this.#out[u]!) edges.push([node, this.#nodes[v]!]);
    });
    return edges;
  }

  /** Same nodes and same edges, whatever the insertion order. @example g.equals(new Graph(g.edges())) // true */
  equals(other: Graph<N>): boolean {
    if (this.size !== other.size || this.edgeCount !== other.edgeCount) return false;
    return this.edges().every(([from, to]) => (to === null ? other.hasNode(from) : other.hasEdge(from, to)));
  }

  /** The nodes with an edge into `node`. @example new Graph([["a", "b"]]).predecessors("b") // ["a"] */
  predecessors(node: N): N[] {
    return this.#neighbours(this.#in, node);
  }

  /** The nodes `node` has an edge to. @example new Graph([["a", "b"]]).successors("a") // ["b"] */
  successors(node: N): N[] {
    return this.#neighbours(this.#out, node);
  }

  /** The nodes without predecessors, in insertion order. @example new Graph([["a", "b"]]).roots() // ["a"] */
  roots(): N[] {
    return this.#nodes.filter((_, i) => this.#in[i]!.size === 0);
  }

  /** The nodes without successors, in insertion order. @example new Graph([["a", "b"]]).leaves() // ["b"] */
  leaves(): N[] {
    return this.#nodes.filter((_, i) => this.#out[i]!.size === 0);
  }

  /**
   * One cycle, first node repeated at the end, or null when the graph is acyclic. Deterministic: a
   * depth-first search from the nodes in insertion order. O(V + E).
   *
   * @example
   * new Graph([["a", "b"], ["b", "c"], ["c", "a"]]).findCycle(); // ["a", "b", "c", "a"]
   */
  findCycle(): N[] | null {
    return findCycleIndices(this.#out)?.map((i) => this.#nodes[i]!) ?? null;
  }

  /**
   * Every node after all its predecessors. Among the nodes ready at each step the earliest added comes
   * first, so an insertion order that is already topological comes back unchanged.
   * Throws `CycleError` naming a cycle. O((V + E) log V).
   *
   * @example
   * new Graph([["b", "c"], ["a", "b"]]).topologicalOrder(); // ["a", "b", "c"]
   */
  topologicalOrder(): N[] {
    return this.#order().map((i) => this.#nodes[i]!);
  }

  /**
   * `topologicalOrder()` reversed: every node before its predecessors, the order in which to undo
   * or clean up. Throws `CycleError`.
   *
   * @example
   * new Graph([["a", "b"]]).reverseTopologicalOrder(); // ["b", "a"]
   */
  reverseTopologicalOrder(): N[] {
    return this.topologicalOrder().reverse();
  }

  /**
   * The nodes not in `finished` whose predecessors are all in `finished`, in insertion order: what may
   * run next. Nodes of `finished` the graph does not hold are ignored.
   *
   * @example
   * new Graph([["a", "c"], ["b", "c"]]).readySet(new Set(["a"])); // ["b"]
   */
  readySet(finished: ReadonlySet<N>): N[] {
    const nodes = this.#nodes;
    return nodes.filter(
      (node, i) => !finished.has(node) && [...this.#in[i]!].every((p) => finished.has(nodes[p]!)),
    );
  }

  /**
   * A new graph with the same nodes (same order) and reachability, without every edge that a longer
   * path implies. Throws `CycleError`: a cyclic graph has no unique reduction. Uses descendant bitsets;
   * 10,000 nodes take about 6 MB (see `transitiveReductionIndices`).
   *
   * @example
   * new Graph([["a", "b"], ["b", "c"], ["a", "c"]]).transitiveReduction().edges(); // [["a", "b"], ["b", "c"]]
   */
  transitiveReduction(): Graph<N> {
    const kept = transitiveReductionIndices(this.#out, this.#in, this.#order());
    const reduced = new Graph<N>();
    for (const node of this.#nodes) reduced.#add(node);
    kept.forEach((successors, u) => {
      for (const v of successors) reduced.addEdge(this.#nodes[u]!, this.#nodes[v]!);
    });
    return reduced;
  }

  /**
   * Every descendant of `from`, excluding `from` itself (even on a cycle), in breadth-first order.
   *
   * @example
   * new Graph([["a", "b"], ["b", "c"]]).reachable("a"); // Set { "b", "c" }
   */
  reachable(from: N): Set<N> {
    const start = this.#index.get(from);
    if (start === undefined) return new Set();
    const seen = new Uint8Array(this.size);
    const queue = [start];
    seen[start] = 1;
    for (let head = 0; head < queue.length; head++) {
      for (const v of this.#out[queue[head]!]!) {
        if (seen[v] === 0) {
          seen[v] = 1;
          queue.push(v);
        }
      }
    }
    return new Set(queue.slice(1).map((i) => this.#nodes[i]!));
  }

  /**
   * The heaviest path, by sum of node weights (e.g. expected durations): the chain of dependencies
   * that bounds the run time. Ties go to the path with more nodes. Empty graph: `{ path: [], length: 0 }`.
   * Throws `CycleError`. O(V + E), `weight` called once per node.
   *
   * @example
   * const g = new Graph([["a", "b"], ["a", "c"]]);
   * const hours: Record<string, number> = { a: 1, b: 5, c: 2 };
   * g.criticalPath((n) => hours[n] ?? 0); // { path: ["a", "b"], length: 6 }
   */
  criticalPath(weight: (node: N) => number): { path: N[]; length: number } {
    const nodes = this.#nodes;
    const { path, length } = criticalPathIndices(this.#order(), this.#in, (i) => weight(nodes[i]!));
    return { path: path.map((i) => nodes[i]!), length };
  }

  /**
   * Mermaid `flowchart TD` text, one `  a --> b` line per edge. Names that are not safe Mermaid ids get
   * generated ids (`n3`) with the name as label. No trailing newline.
   *
   * @example
   * new Graph([["a", "b"]]).toMermaid(); // "flowchart TD\n  a --> b"
   */
  toMermaid(options: { label?: (node: N) => string } = {}): string {
    return renderMermaid(this.#nodes, this.edges(), options);
  }

  /**
   * Graphviz DOT text with quoted ids; `name` defaults to "weft". No trailing newline.
   *
   * @example
   * new Graph([["a", "b"]]).toDot({ name: "etl" }); // 'digraph "etl" {\n  "a" -> "b";\n}'
   */
  toDot(options: { label?: (node: N) => string; name?: string } = {}): string {
    return renderDot(this.#nodes, this.edges(), options);
  }

  #add(node: N): number {
    let i = this.#index.get(node);
    if (i === undefined) {
      i = this.#nodes.push(node) - 1;
      this.#index.set(node, i);
      this.#out.push(new Set());
      this.#in.push(new Set());
    }
    return i;
  }

  #neighbours(adjacency: Set<number>[], node: N): N[] {
    const i = this.#index.get(node);
    return i === undefined ? [] : Array.from(adjacency[i]!, (j) => this.#nodes[j]!);
  }

  /** Topological order as indices, or a `CycleError` naming one cycle. */
  #order(): number[] {
    const order = topologicalIndices(this.#out, this.#in);
    if (order !== null) return order;
    throw new CycleError(this.findCycle() ?? []);
  }
}
