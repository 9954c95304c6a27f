import { describe, expect, it } from "vitest";
import type { CliIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";

/** Runs `weft graph ...argv` from the repository root and collects what it prints. */
const run = async (...argv: string[]) => {
  let out = "";
  let err = "";
  const io: CliIO = {
    stdout: (text) => {
      out += text;
    },
    stderr: (text) => {
      err += text;
    },
    isTTY: false,
    cwd: process.cwd(),
    env: {},
  };
  const code = await main(["graph", ...argv], io);
  return { code, out, err };
};

describe("weft graph", () => {
  it("prints Mermaid by default, one edge per dependency", async () => {
    expect(await run("examples/etl.yaml")).toEqual({
      code: 0,
      out: [
        "flowchart TD",
        "  extract --> transform",
        "  transform --> summarize",
        "  transform --> stage",
        "  summarize --> load",
        "  stage --> load",
        "  load --> verify",
        "",
      ].join("\n"),
      err: "",
    });
  });

  it("prints JSON nodes and edges, and --reduce drops implied edges", async () => {
    const full = await run("examples/approval.yaml", "--format", "json");
    expect(full.code).toBe(0);
    expect(JSON.parse(full.out)).toEqual({
      nodes: ["build", "test", "approve", "deploy", "announce", "report_rejection"],
      edges: [
        ["build", "test"],
        ["build", "approve"],
        ["test", "approve"],
        ["approve", "deploy"],
        ["approve", "announce"],
        ["approve", "report_rejection"],
        ["deploy", "announce"],
      ],
    });
    const reduced = await run("examples/approval.yaml", "--format", "json", "--reduce");
    expect((JSON.parse(reduced.out) as { edges: unknown[] }).edges).toEqual([
      ["build", "test"],
      ["test", "approve"],
      ["approve", "deploy"],
      ["approve", "report_rejection"],
      ["deploy", "announce"],
    ]);
  });

  it("prints Graphviz DOT named after the workflow", async () => {
    const { code, out } = await run("examples/fan-out.yaml", "-f", "dot", "--reduce");
    expect(code).toBe(0);
    expect(out.split("\n").slice(0, 2)).toEqual(['digraph "fan-out" {', '  "split" -> "count_0";']);
    expect(out.endsWith("}\n")).toBe(true);
  });

  it("shows a task with no edges", async () => {
    const { out } = await run("test/fixtures/valid/lone.yaml", "--format", "json");
    expect(JSON.parse(out)).toEqual({ nodes: ["only"], edges: [] });
  });

  it("prints diagnostics and exits 2 for an invalid file", async () => {
    expect(await run("test/fixtures/invalid/cycle.yaml")).toEqual({
      code: 2,
      out: "",
      err: "test/fixtures/invalid/cycle.yaml:3:3: cycle: a -> b -> c -> a; a task cannot wait for itself, directly or through other tasks\n",
    });
  });

  it("refuses an unknown format with a clear message and exit 2", async () => {
    expect(await run("examples/etl.yaml", "--format", "svg")).toEqual({
      code: 2,
      out: "",
      err: 'weft graph: unknown format "svg"; expected one of: mermaid, dot, json\n',
    });
  });
});
