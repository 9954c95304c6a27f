import type { Adjacency } from "./topological-order.js";

/**
 * The heaviest path (largest sum of node weights) of a DAG, as node indices, by dynamic programming
 * over a topological `order`: O(V + E), `weight` called once per node in that order.
 * Among paths of equal weight the one with more nodes wins, so zero weights still give a path from a
 * root to a leaf; remaining ties go to the earliest node in `order` and the earliest-added predecessor.
 * A prefix whose sum is negative is dropped, so negative weights still give the heaviest path.
 * An empty graph gives `{ path: [], length: 0 }`.
 *
 * @example
 * // 0 -> 1 -> 2 weighing 1, 2, 3
 * criticalPathIndices([0, 1, 2], [new Set(), new Set([0]), new Set([1])], (i) => i + 1);
 * // { path: [0, 1, 2], length: 6 }
 */
export function criticalPathIndices(
  order: readonly number[],
  incoming: Adjacency,
  weight: (node: number) => number,
): { path: number[]; length: number } {
  const n = incoming.length;
  const total = new Float64Array(n);
  const count = new Int32Array(n);
  const via = new Int32Array(n).fill(-1);
  const heavier = (a: number, b: number): boolean =>
    total[a]! > total[b]! || (total[a] === total[b] && count[a]! > count[b]!);

  let end = -1;
  for (const v of order) {
    let best = -1;
    for (const p of incoming[v]!) if (best < 0 || heavier(p, best)) best = p;
    const extend = best >= 0 && total[best]! >= 0;
    total[v] = weight(v) + (extend ? total[best]! : 0);
    count[v] = 1 + (extend ? count[best]! : 0);
    via[v] = extend ? best : -1;
    if (end < 0 || heavier(v, end)) end = v;
  }

  const path: number[] = [];
  for (let v = end; v >= 0; v = via[v]!) path.push(v);
  return { path: path.reverse(), length: end < 0 ? 0 : total[end]! };
}
