/**
 * Generated workflows (a loop over `.task()`) are a supported use: `.task()` shares what came before
 * instead of copying it, and `.spec` checks each action's `with` like `weft validate` does.
 */
import { describe, expect, it } from "vitest";
import { DefinitionError, workflow } from "../../src/definition/index.js";

describe("generated workflows", () => {
  it("a loop over .task() builds every task in order, each reading the one before", () => {
    let flow = workflow("generated");
    for (let i = 0; i < 5_000; i++) {
      const options = {
        action: "echo",
        with: { message: i === 0 ? 0 : `\${{ tasks.t${i - 1}.output + 1 }}` },
      };
      flow = flow.task(`t${i}`, options as never);
    }
    const spec = flow.spec;
    const names = Object.keys(spec.tasks);
    expect(names).toHaveLength(5_000);
    expect(names.slice(0, 3)).toEqual(["t0", "t1", "t2"]);
    expect(spec.tasks.t4999!.dependsOn).toEqual(["t4998"]);
  });

  it("stays immutable: branches from one workflow do not see each other's tasks or functions", () => {
    const base = workflow("branches").task("a", { action: "noop" });
    const left = base.task("l", { after: "a" }, () => 1);
    const right = base.task("r", { action: "echo", with: { message: "r" } });
    expect(Object.keys(left.spec.tasks)).toEqual(["a", "l"]);
    expect(Object.keys(right.spec.tasks)).toEqual(["a", "r"]);
    expect([...left.functions.keys()]).toEqual(["l"]);
    expect(right.functions.size).toBe(0);
    expect(Object.keys(base.spec.tasks)).toEqual(["a"]);
  });

  it("checks each action's with: missing fields, typos and literal values, not expressions", () => {
    const flow = workflow("checked", { inputs: { d: { type: "string", default: "1s" } } })
      .task("build", { action: "shell", with: { comand: "make" } })
      .task("wait", { action: "sleep", with: { duration: "forever" } })
      .task("later", { action: "sleep", with: { duration: "${{ inputs.d }}" } });
    const error = (() => {
      try {
        return flow.spec;
      } catch (thrown) {
        return thrown;
      }
    })() as DefinitionError;
    expect(error).toBeInstanceOf(DefinitionError);
    expect(error.diagnostics.map((d) => d.message)).toEqual([
      'task "build": "with.command" is missing, expected a non-empty string (action shell)',
      'task "build": unknown field "comand" in "with" of action shell (did you mean "command"?); expected one of: command, env, cwd',
      'task "wait": "with.duration" is "forever", expected a number of milliseconds or a string like 250ms, 30s, 5m, 2h, 1d, at most 365d (action sleep)',
    ]);
  });
});
