/**
 * Order walks over a graph whose nodes are numbered 0..n-1 in insertion order. `Graph` keeps its
 * adjacency this way so the algorithms run on integers and typed arrays instead of Map lookups.
 */

/**
 * Adjacency by node index: `adjacency[i]` holds the neighbours of node i in the order the edges were added.
 *
 * @example
 * const out: Adjacency = [new Set([1]), new Set()]; // 0 -> 1
 */
export type Adjacency = readonly ReadonlySet<number>[];

/**
 * Kahn's algorithm in which, among the nodes whose predecessors are all placed, the one added first
 * always comes next. That makes the order a function of the insertion order alone, and the insertion
 * order itself whenever it is already topological (so a workflow lists its tasks as written).
 * The heap costs O((V + E) log V); the plain FIFO variant is O(V + E) but reorders such input.
 * Returns null when a cycle leaves nodes unplaced.
 *
 * @example
 * topologicalIndices([new Set(), new Set([0])], [new Set([1]), new Set()]); // [1, 0]
 */
export function topologicalIndices(out: Adjacency, incoming: Adjacency): number[] | null {
  const n = out.length;
  const pending = new Int32Array(n);
  const ready = new MinHeap();
  for (let i = 0; i < n; i++) {
    pending[i] = incoming[i]!.size;
    if (pending[i] === 0) ready.push(i);
  }
  const order: number[] = [];
  while (ready.size > 0) {
    const u = ready.pop();
    order.push(u);
    for (const v of out[u]!) {
      pending[v] = pending[v]! - 1;
      if (pending[v] === 0) ready.push(v);
    }
  }
  return order.length === n ? order : null;
}

/**
 * One cycle as node indices, first and last equal, or null when there is none. An iterative
 * depth-first search (no recursion, so deep pipelines cannot overflow the stack) started from the
 * nodes in insertion order: the answer is deterministic. O(V + E).
 *
 * @example
 * findCycleIndices([new Set([1]), new Set([0])]); // [0, 1, 0]
 */
export function findCycleIndices(out: Adjacency): number[] | null {
  const OPEN = 1;
  const DONE = 2;
  const state = new Uint8Array(out.length);
  const path: number[] = [];
  const cursors: Iterator<number>[] = [];
  for (let start = 0; start < out.length; start++) {
    if (state[start] !== 0) continue;
    state[start] = OPEN;
    path.push(start);
    cursors.push(out[start]!.values());
    while (path.length > 0) {
      const next = cursors[cursors.length - 1]!.next();
      if (next.done === true) {
        state[path.pop()!] = DONE;
        cursors.pop();
        continue;
      }
      const v = next.value;
      // An edge back into the current path closes a cycle; DONE nodes were fully explored already.
      if (state[v] === OPEN) return [...path.slice(path.indexOf(v)), v];
      if (state[v] === 0) {
        state[v] = OPEN;
        path.push(v);
        cursors.push(out[v]!.values());
      }
    }
  }
  return null;
}

/** A binary min-heap of node indices: the ready queue of `topologicalIndices`. */
class MinHeap {
  readonly #items: number[] = [];

  get size(): number {
    return this.#items.length;
  }

  push(value: number): void {
    const items = this.#items;
    let i = items.push(value) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]! <= value) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = value;
  }

  /** Removes and returns the smallest value; the caller checks `size` first. */
  pop(): number {
    const items = this.#items;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length === 0) return top;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= items.length) break;
      if (child + 1 < items.length && items[child + 1]! < items[child]!) child++;
      if (items[child]! >= last) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
    return top;
  }
}
