/**
 * No runtime import cycles in src/: the graph of value imports between modules must be a DAG
 * (type-only imports vanish when compiled). Checked with Weft's own graph module.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Graph } from "../../src/graph/index.js";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["'](\.{1,2}\/[^"']+)["']/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(dir, entry.name)]
        : [],
  );
}

/** Value imports only: `import type` statements vanish at runtime. */
function moduleGraph(): Graph<string> {
  const graph = new Graph<string>();
  for (const file of sourceFiles(SRC)) {
    const from = relative(SRC, file);
    graph.addNode(from);
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(IMPORT)) {
      const statement = match[0];
      if (/^\s*(?:import|export)\s+type\s/.test(statement.trimStart())) continue;
      const target = relative(SRC, resolve(dirname(file), match[1]!.replace(/\.js$/, ".ts")));
      graph.addEdge(from, target);
    }
  }
  return graph;
}

describe("architecture", () => {
  it("src/ has no runtime import cycles", () => {
    expect(moduleGraph().findCycle()).toBeNull();
  });

  it("finds a cycle when there is one (the check itself works)", () => {
    const graph = moduleGraph();
    graph.addEdge("graph/graph.ts", "cli/main.ts");
    graph.addEdge("cli/main.ts", "graph/graph.ts");
    expect(graph.findCycle()).not.toBeNull();
  });
});
