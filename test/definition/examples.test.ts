/**
 * The examples stay valid, and the JavaScript they call exists and does what their comments say.
 * (`weft run` executes them end to end in the runtime's tests.)
 */
import { readdirSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { evaluateTemplate, loadWorkflowFile, type ExpressionScope } from "../../src/definition/index.js";

const workflows = readdirSync("examples").filter((file) => /\.(ya?ml|json)$/.test(file));
const tasks = (await import(pathToFileURL("examples/tasks.mjs").href)) as Record<
  string,
  (args: unknown) => unknown
>;
const call = (name: string, args: unknown) => tasks[name]!(args);

describe("examples", () => {
  it("include etl, fan-out and approval", () => {
    expect(workflows).toEqual(expect.arrayContaining(["etl.yaml", "fan-out.yaml", "approval.yaml"]));
  });

  it.each(workflows)("%s is valid and every js task names an export of its module", async (file) => {
    const spec = await loadWorkflowFile(`examples/${file}`);
    for (const task of Object.values(spec.tasks)) {
      if (task.action !== "js") continue;
      expect(task.with.module).toBe("./tasks.mjs");
      expect(tasks[task.with.export as string]).toEqual(expect.any(Function));
    }
  });

  it("etl: transform and summarize turn seq's output into the loaded summary", async () => {
    const spec = await loadWorkflowFile("examples/etl.yaml");
    const scope: ExpressionScope = {
      inputs: { count: 3, factor: 2, failAtEnd: false },
      tasks: { extract: { output: { stdout: "1\n2\n3", stderr: "", code: 0 }, status: "succeeded" } },
      execution: { id: "e1", workflow: "etl" },
    };
    const transformArgs = (await evaluateTemplate(spec.tasks.transform!.with, scope)) as { args: unknown };
    const values = call("transform", transformArgs.args);
    expect(values).toEqual([2, 4, 6]);
    expect(call("summarize", { values })).toEqual({ count: 3, total: 12, max: 6 });
    expect(await evaluateTemplate(spec.tasks.extract!.with, scope)).toEqual({ command: "seq 1 3" });
  });

  it("fan-out: split and countWords share out and count every word", async () => {
    const spec = await loadWorkflowFile("examples/fan-out.yaml");
    const text = spec.inputs.text?.default as string;
    const parts = call("split", { text, parts: 3 }) as string[];
    expect(parts).toHaveLength(3);
    const counts = parts.map((part) => call("countWords", { text: part }) as number);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(text.split(" ").length);
    expect(call("split", { text: "a b", parts: 3 })).toEqual(["a", "b", ""]);
  });
});
