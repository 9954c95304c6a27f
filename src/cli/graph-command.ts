/**
 * `weft graph FILE [--format mermaid|dot|json] [--reduce]`: prints a workflow's task graph, edges
 * going from a task to the tasks that wait for it (its `dependsOn`, explicit and implicit).
 */
import type { Command } from "commander";
import type { WorkflowSpec } from "../definition/spec.js";
import { Graph } from "../graph/index.js";
import { CliExit, ExitCode, type CliIO } from "./io.js";
import { loadSpec, printDiagnostics } from "./load-spec.js";

/** The output formats of `weft graph`. */
export const GraphFormat = { mermaid: "mermaid", dot: "dot", json: "json" } as const;
export type GraphFormat = (typeof GraphFormat)[keyof typeof GraphFormat];
const FORMATS: readonly string[] = Object.values(GraphFormat);

/**
 * The task graph of a spec: every task a node (in source order), an edge `p -> t` for each `p` in
 * `t.dependsOn`.
 *
 * @example
 * taskGraph(spec).toMermaid(); // "flowchart TD\n  extract --> double ..."
 */
export function taskGraph(spec: WorkflowSpec): Graph<string> {
  const graph = new Graph<string>();
  for (const name of Object.keys(spec.tasks)) graph.addNode(name);
  for (const [name, task] of Object.entries(spec.tasks)) {
    for (const predecessor of task.dependsOn) graph.addEdge(predecessor, name);
  }
  return graph;
}

/** Renders a graph in a format; json is `{ "nodes": [...], "edges": [[from, to], ...] }`. */
export function renderGraph(graph: Graph<string>, format: GraphFormat, name: string): string {
  switch (format) {
    case GraphFormat.dot:
      return graph.toDot({ name });
    case GraphFormat.json: {
      // One edge per line: readable, and still one JSON object.
      const edges = graph.edges().filter(([, to]) => to !== null);
      const list =
        edges.length === 0
          ? "[]"
          : `[\n${edges.map((edge) => `    ${JSON.stringify(edge)}`).join(",\n")}\n  ]`;
      return `{\n  "nodes": ${JSON.stringify(graph.nodes())},\n  "edges": ${list}\n}`;
    }
    default:
      return graph.toMermaid();
  }
}

/**
 * Registers `graph` on the program. An invalid file prints its diagnostics and exits 2, like `validate`.
 *
 * @example
 * // weft graph examples/fan-out.yaml --format dot --reduce | dot -Tsvg > fan-out.svg
 */
export function registerGraph(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command("graph")
    .description("Print a workflow's task graph as Mermaid (default), Graphviz DOT or JSON.")
    .argument("<file>", "workflow file (YAML or JSON)")
    .option("-f, --format <format>", `output format: ${FORMATS.join(", ")}`, GraphFormat.mermaid)
    .option("--reduce", "leave out edges implied by longer paths (transitive reduction)")
    .action(async (file: string, options: { format: string; reduce?: boolean }) => {
      if (!FORMATS.includes(options.format)) {
        throw new CliExit(
          ExitCode.invalid,
          `weft graph: unknown format "${options.format}"; expected one of: ${FORMATS.join(", ")}`,
        );
      }
      const result = await loadSpec(file, io);
      if (!result.spec) {
        printDiagnostics(io, result.diagnostics);
        setExit(ExitCode.invalid);
        return;
      }
      const graph = taskGraph(result.spec);
      const shown = options.reduce ? graph.transitiveReduction() : graph;
      io.stdout(`${renderGraph(shown, options.format as GraphFormat, result.spec.name)}\n`);
      setExit(ExitCode.ok);
    });
}
