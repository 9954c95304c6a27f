/**
 * Benchmark: transitive reduction of a 10,000-node layered DAG with 50,000 edges.
 * Run with `npx tsx bench/graph-reduce.ts`; a bench runner imports `benchGraphReduce`.
 * The reference printed beside it, a topological order of the same graph (one O(V + E) pass),
 * is measured in the same run so figures from different machines can be compared.
 */
import { pathToFileURL } from "node:url";
import { Graph } from "../src/graph/index.js";
import { median } from "./timing.js";

/** The figures of one benchmark run; times are medians in milliseconds. */
export interface GraphReduceResult {
  nodes: number;
  edges: number;
  /** Median time of `transitiveReduction()`. */
  ms: number;
  /** Edges left after the reduction. */
  kept: number;
  /** Median time of `topologicalOrder()` on the same graph, for scale. */
  referenceMs: number;
}

/** Shape of the generated graph; defaults give 100 layers of 100 nodes and 50,000 edges. */
export interface GraphReduceOptions {
  layers?: number;
  width?: number;
  edges?: number;
  /** Timed repetitions; the median is reported. Default 5. */
  runs?: number;
  seed?: number;
}

/**
 * Builds the layered DAG (reproducible: a seeded PRNG picks each edge from a node to a node of a later
 * layer), then times the reduction.
 *
 * @example
 * const { ms, kept } = await benchGraphReduce();
 */
export async function benchGraphReduce(options: GraphReduceOptions = {}): Promise<GraphReduceResult> {
  const { layers = 100, width = 100, edges = 50_000, runs = 5, seed = 42 } = options;
  const graph = layeredDag(layers, width, edges, mulberry32(seed));
  let reduced = graph;
  const ms = median(runs, () => (reduced = graph.transitiveReduction()));
  const referenceMs = median(runs, () => graph.topologicalOrder());
  // Yield once so a runner calling several benchmarks in a row keeps its event loop responsive.
  await new Promise((resolve) => setImmediate(resolve));
  return { nodes: graph.size, edges: graph.edgeCount, ms, kept: reduced.edgeCount, referenceMs };
}

function layeredDag(layers: number, width: number, edges: number, random: () => number): Graph {
  const name = (layer: number, i: number): string => `L${layer}N${i}`;
  const graph = new Graph();
  for (let layer = 0; layer < layers; layer++) for (let i = 0; i < width; i++) graph.addNode(name(layer, i));
  const pick = (n: number): number => Math.floor(random() * n);
  while (graph.edgeCount < edges) {
    const from = pick(layers - 1);
    const to = from + 1 + pick(layers - 1 - from);
    graph.addEdge(name(from, pick(width)), name(to, pick(width)));
  }
  return graph;
}

// A small seeded PRNG (mulberry32): the same seed always builds the same graph.
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await benchGraphReduce();
  console.log(
    `graph: transitive reduction of ${r.nodes} nodes / ${r.edges} edges: ${Math.round(r.ms)} ms ` +
      `(kept ${r.kept} edges; reference: topological order ${r.referenceMs.toFixed(1)} ms)`,
  );
}
