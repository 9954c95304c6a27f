import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { CycleError, Graph } from "../../src/graph/index.js";

interface Dag {
  graph: Graph;
  /** Node names by index: every edge goes from a lower to a higher index, so the graph is acyclic. */
  names: string[];
  edges: [number, number][];
}

// A random DAG: edges only from lower to higher index, nodes and edges inserted in random orders.
// Up to 70 nodes, so the reduction bitsets span several 32-bit words.
const dagArbitrary = (minEdges = 0): fc.Arbitrary<Dag> =>
  fc.integer({ min: minEdges > 0 ? 2 : 0, max: 70 }).chain((n) => {
    const names = Array.from({ length: n }, (_, i) => `n${i}`);
    const pair = fc
      .tuple(fc.nat(Math.max(n - 1, 0)), fc.nat(Math.max(n - 1, 0)))
      .filter(([a, b]) => a !== b)
      .map(([a, b]): [number, number] => (a < b ? [a, b] : [b, a]));
    return fc
      .record({
        edges: fc.uniqueArray(pair, {
          minLength: minEdges,
          maxLength: n < 2 ? 0 : 3 * n,
          selector: ([a, b]) => a * n + b,
        }),
        nodeOrder: fc.shuffledSubarray(names, { minLength: n, maxLength: n }),
        // How many nodes are added explicitly before the edges; the rest arrive through addEdge.
        explicit: fc.nat(n),
      })
      .map(({ edges, nodeOrder, explicit }) => {
        const graph = new Graph();
        for (const name of nodeOrder.slice(0, explicit)) graph.addNode(name);
        for (const [a, b] of edges) graph.addEdge(names[a]!, names[b]!);
        for (const name of nodeOrder) graph.addNode(name);
        return { graph, names, edges };
      });
  });

function isEdgeImplied(g: Graph, from: string, to: string): boolean {
  return g.successors(from).some((w) => w !== to && g.reachable(w).has(to));
}

describe("Graph properties on random DAGs", () => {
  it("reduction keeps nodes and reachability and leaves no redundant edge", () => {
    fc.assert(
      fc.property(dagArbitrary(), ({ graph }) => {
        const reduced = graph.transitiveReduction();
        expect(reduced.nodes()).toEqual(graph.nodes());
        for (const node of graph.nodes()) {
          expect(reduced.reachable(node)).toEqual(graph.reachable(node));
          for (const next of reduced.successors(node)) {
            expect(graph.hasEdge(node, next)).toBe(true);
            expect(isEdgeImplied(reduced, node, next)).toBe(false);
          }
        }
        // Reducing twice changes nothing.
        expect(reduced.transitiveReduction().equals(reduced)).toBe(true);
      }),
    );
  });

  it("every topological order respects every edge", () => {
    fc.assert(
      fc.property(dagArbitrary(), ({ graph }) => {
        for (const order of [graph.topologicalOrder(), graph.reverseTopologicalOrder().reverse()]) {
          expect([...order].sort()).toEqual(graph.nodes().sort());
          const position = new Map(order.map((node, i) => [node, i]));
          for (const [from, to] of graph.edges()) {
            if (to !== null) expect(position.get(from)!).toBeLessThan(position.get(to)!);
          }
        }
      }),
    );
  });

  it("returns an insertion order that is already topological unchanged", () => {
    fc.assert(
      fc.property(dagArbitrary(), ({ names, edges }) => {
        const graph = new Graph(names.map((name): [string, null] => [name, null]));
        for (const [a, b] of edges) graph.addEdge(names[a]!, names[b]!);
        expect(graph.topologicalOrder()).toEqual(names);
      }),
    );
  });

  it("round-trips through edges()", () => {
    fc.assert(
      fc.property(dagArbitrary(), ({ graph }) => {
        const copy = new Graph(graph.edges());
        expect(copy.equals(graph)).toBe(true);
        expect(graph.equals(copy)).toBe(true);
        expect(copy.size).toBe(graph.size);
        expect(copy.edgeCount).toBe(graph.edgeCount);
      }),
    );
  });

  it("readySet holds exactly the unfinished nodes whose predecessors are finished", () => {
    fc.assert(
      fc.property(
        dagArbitrary().chain((dag) =>
          fc.record({ dag: fc.constant(dag), finished: fc.subarray(dag.graph.nodes()) }),
        ),
        ({ dag: { graph }, finished }) => {
          const done = new Set(finished);
          const ready = graph.readySet(done);
          for (const node of graph.nodes()) {
            const expected = !done.has(node) && graph.predecessors(node).every((p) => done.has(p));
            expect(ready.includes(node)).toBe(expected);
          }
          expect(graph.readySet(new Set())).toEqual(graph.roots());
        },
      ),
    );
  });

  it("criticalPath is a real path whose length is the heaviest", () => {
    fc.assert(
      fc.property(
        dagArbitrary(),
        fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 70 }),
        (dag, ws) => {
          const { graph } = dag;
          const weight = (node: string): number => ws[Number(node.slice(1))]!;
          const { path, length } = graph.criticalPath(weight);
          for (let i = 1; i < path.length; i++) expect(graph.hasEdge(path[i - 1]!, path[i]!)).toBe(true);
          expect(length).toBe(path.reduce((sum, node) => sum + weight(node), 0));
          // Reference: the heaviest path ending at each node, by memoised recursion over predecessors.
          const best = new Map<string, number>();
          const heaviestTo = (node: string): number => {
            if (!best.has(node)) {
              best.set(node, weight(node) + Math.max(0, ...graph.predecessors(node).map(heaviestTo)));
            }
            return best.get(node)!;
          };
          expect(length).toBe(Math.max(0, ...graph.nodes().map(heaviestTo)));
        },
      ),
    );
  });

  it("a back edge makes findCycle return a valid cycle", () => {
    fc.assert(
      fc.property(dagArbitrary(1), fc.nat(), fc.nat(), ({ graph }, pickFrom, pickTo) => {
        expect(graph.findCycle()).toBeNull();
        const sources = graph.nodes().filter((node) => graph.reachable(node).size > 0);
        const from = sources[pickFrom % sources.length]!;
        const descendants = [...graph.reachable(from)];
        graph.addEdge(descendants[pickTo % descendants.length]!, from);
        const cycle = graph.findCycle();
        expect(cycle).not.toBeNull();
        expect(cycle!.length).toBeGreaterThanOrEqual(3);
        expect(cycle![0]).toBe(cycle![cycle!.length - 1]);
        expect(new Set(cycle!.slice(1)).size).toBe(cycle!.length - 1);
        for (let i = 1; i < cycle!.length; i++) expect(graph.hasEdge(cycle![i - 1]!, cycle![i]!)).toBe(true);
        expect(() => graph.topologicalOrder()).toThrow(CycleError);
      }),
    );
  });
});
