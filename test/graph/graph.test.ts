import { describe, it, expect } from "vitest";
import { CycleError, Graph } from "../../src/graph/index.js";
import { WeftError } from "../../src/shared/errors.js";

// fetch -> parse -> store, fetch -> store (implied), lint alone.
function etl(): Graph {
  return new Graph([
    ["fetch", "parse"],
    ["parse", "store"],
    ["fetch", "store"],
    ["lint", null],
  ]);
}

describe("Graph building", () => {
  it("adds nodes with edges, ignores duplicate edges and keeps insertion order", () => {
    const g = new Graph<string>().addEdge("b", "c").addEdge("a", "b").addEdge("b", "c").addNode("a");
    expect(g.nodes()).toEqual(["b", "c", "a"]);
    expect(g.size).toBe(3);
    expect(g.edgeCount).toBe(2);
    expect(g.hasEdge("b", "c")).toBe(true);
    expect(g.hasEdge("c", "b")).toBe(false);
    expect(g.hasNode("z")).toBe(false);
  });

  it("round-trips lone nodes through edges()", () => {
    const g = etl();
    expect(g.edges()).toEqual([
      ["fetch", "parse"],
      ["fetch", "store"],
      ["parse", "store"],
      ["lint", null],
    ]);
    const copy = new Graph(g.edges());
    expect(copy.equals(g)).toBe(true);
    expect(copy.hasNode("lint")).toBe(true);
    expect(new Graph<string>().addNode("x").edges()).toEqual([["x", null]]);
  });

  it("tells graphs apart by nodes and by edges", () => {
    expect(etl().equals(etl().addNode("extra"))).toBe(false);
    expect(new Graph([["a", "b"]]).equals(new Graph([["b", "a"]]))).toBe(false);
    expect(
      new Graph([
        ["a", "b"],
        ["c", null],
      ]).equals(
        new Graph([
          ["c", null],
          ["a", "b"],
        ]),
      ),
    ).toBe(true);
  });

  it("answers neighbours, roots and leaves", () => {
    const g = etl();
    expect(g.predecessors("store")).toEqual(["parse", "fetch"]);
    expect(g.successors("fetch")).toEqual(["parse", "store"]);
    expect(g.roots()).toEqual(["fetch", "lint"]);
    expect(g.leaves()).toEqual(["store", "lint"]);
    expect(g.successors("unknown")).toEqual([]);
    expect(g.reachable("fetch")).toEqual(new Set(["parse", "store"]));
    expect(g.reachable("unknown")).toEqual(new Set());
  });

  it("compares nodes with ===", () => {
    const a = { name: "a" };
    const g = new Graph<object>([[a, { name: "a" }]]);
    expect(g.size).toBe(2);
    expect(g.successors(a)).toHaveLength(1);
  });
});

describe("Graph orders", () => {
  it("keeps an insertion order that is already topological", () => {
    const g = new Graph<string>().addNode("a").addNode("c").addNode("b").addEdge("a", "c");
    expect(g.topologicalOrder()).toEqual(["a", "c", "b"]);
  });

  it("places every node after its predecessors, earliest added first", () => {
    const g = new Graph([
      ["c", "d"],
      ["b", "c"],
      ["a", "c"],
      ["x", null],
    ]);
    expect(g.topologicalOrder()).toEqual(["b", "a", "c", "d", "x"]);
    expect(g.reverseTopologicalOrder()).toEqual(["x", "d", "c", "a", "b"]);
  });

  it("names the cycle exactly", () => {
    const g = new Graph([
      ["a", "b"],
      ["b", "c"],
      ["c", "a"],
      ["c", "d"],
    ]);
    expect(g.findCycle()).toEqual(["a", "b", "c", "a"]);
    let error: unknown;
    try {
      g.topologicalOrder();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CycleError);
    expect(error).toBeInstanceOf(WeftError);
    expect(error).toMatchObject({
      code: "CYCLE",
      path: ["a", "b", "c", "a"],
      message: "cycle: a -> b -> c -> a",
    });
    expect(() => g.transitiveReduction()).toThrow(CycleError);
    expect(() => g.criticalPath(() => 1)).toThrow("cycle: a -> b -> c -> a");
  });

  it("reports a self-loop as a cycle and an acyclic graph as null", () => {
    expect(new Graph([["a", "a"]]).findCycle()).toEqual(["a", "a"]);
    expect(etl().findCycle()).toBeNull();
    expect(new Graph().topologicalOrder()).toEqual([]);
  });

  it("computes the ready set from the finished nodes", () => {
    const g = etl();
    expect(g.readySet(new Set())).toEqual(["fetch", "lint"]);
    expect(g.readySet(new Set(["fetch"]))).toEqual(["parse", "lint"]);
    expect(g.readySet(new Set(["fetch", "parse", "lint"]))).toEqual(["store"]);
    expect(g.readySet(new Set(["fetch", "parse", "lint", "store", "ghost"]))).toEqual([]);
  });
});

describe("Graph reductions and paths", () => {
  it("drops implied edges and keeps nodes", () => {
    const reduced = etl().transitiveReduction();
    expect(reduced.edges()).toEqual([
      ["fetch", "parse"],
      ["parse", "store"],
      ["lint", null],
    ]);
    expect(reduced.nodes()).toEqual(etl().nodes());
  });

  it("finds the heaviest path", () => {
    const weights: Record<string, number> = { fetch: 2, parse: 3, store: 1, lint: 5 };
    expect(etl().criticalPath((n) => weights[n]!)).toEqual({ path: ["fetch", "parse", "store"], length: 6 });
    const heavyLint: Record<string, number> = { ...weights, lint: 7 };
    expect(etl().criticalPath((n) => heavyLint[n]!)).toEqual({ path: ["lint"], length: 7 });
    expect(etl().criticalPath(() => 0).path).toEqual(["fetch", "parse", "store"]);
    expect(new Graph().criticalPath(() => 1)).toEqual({ path: [], length: 0 });
  });

  it("drops a negative prefix from the heaviest path", () => {
    const g = new Graph([
      ["a", "b"],
      ["b", "c"],
    ]);
    const weights: Record<string, number> = { a: -5, b: 1, c: 1 };
    expect(g.criticalPath((n) => weights[n]!)).toEqual({ path: ["b", "c"], length: 2 });
  });
});

describe("Graph rendering", () => {
  it("renders Mermaid", () => {
    expect(etl().toMermaid()).toBe(
      ["flowchart TD", "  fetch --> parse", "  fetch --> store", "  parse --> store", "  lint"].join("\n"),
    );
  });

  it("escapes Mermaid ids and labels", () => {
    const g = new Graph([
      ["my task", "end"],
      ["n0", 'say "hi" #1 <b>'],
    ]);
    expect(g.toMermaid()).toBe(
      [
        "flowchart TD",
        '  n1["my task"]',
        '  n2["end"]',
        '  n3["say #quot;hi#quot; #35;1 #lt;b#gt;"]',
        "  n1 --> n2",
        "  n0 --> n3",
      ].join("\n"),
    );
    expect(new Graph([["a", "b"]]).toMermaid({ label: (n) => n.toUpperCase() })).toBe(
      ["flowchart TD", '  a["A"]', '  b["B"]', "  a --> b"].join("\n"),
    );
  });

  it("renders DOT with quoted ids", () => {
    expect(etl().toDot({ name: "etl" })).toBe(
      [
        'digraph "etl" {',
        '  "fetch" -> "parse";',
        '  "fetch" -> "store";',
        '  "parse" -> "store";',
        '  "lint";',
        "}",
      ].join("\n"),
    );
    const g = new Graph([['say "hi"', "back\\slash"]]);
    expect(g.toDot({ label: (n) => (n.startsWith("say") ? "line1\nline2" : n) })).toBe(
      [
        'digraph "weft" {',
        '  "say \\"hi\\"" [label="line1\\nline2"];',
        '  "say \\"hi\\"" -> "back\\\\slash";',
        "}",
      ].join("\n"),
    );
  });

  it("gives distinct ids to nodes with the same name", () => {
    const g = new Graph<unknown>([[1, "1"]]);
    expect(g.toDot()).toBe(['digraph "weft" {', '  "n1" [label="1"];', '  "1" -> "n1";', "}"].join("\n"));
  });
});
