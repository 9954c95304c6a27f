import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DefinitionError, parseWorkflow, workflow, type TaskContext } from "../../src/definition/index.js";
import { silentLogger } from "../../src/shared/logger.js";
import { BRIEF_SPEC } from "./brief-spec.js";

const briefWorkflow = () =>
  workflow("etl", {
    version: 1,
    description: "demo",
    inputs: { count: { type: "number", default: 3 } },
    defaults: { retry: { attempts: 3, backoff: "200ms", factor: 2, maxBackoff: "10s" }, timeout: "30s" },
    timeout: "1h",
    output: "${{ tasks.double.output }}",
  })
    .task("extract", { action: "shell", with: { command: "echo 42" } })
    .task("double", {
      action: "js",
      with: { module: "./tasks.mjs", export: "double", args: { n: "${{ tasks.extract.output.stdout }}" } },
    })
    .task("approve", { action: "delegate", after: ["double"], timeout: "1h" })
    .task("load", {
      action: "echo",
      after: ["approve"],
      when: "${{ inputs.count > 1 }}",
      trigger: "all_success",
      allowFailure: false,
      undo: { action: "echo", with: { message: "rollback" } },
      description: "loads",
      with: { message: "loaded ${{ tasks.double.output }}" },
    });

const ctx: TaskContext = {
  executionId: "e1",
  task: "t",
  attempt: 1,
  idempotencyKey: "e1:t",
  signal: new AbortController().signal,
  logger: silentLogger,
  inputs: {},
};

describe("workflow builder", () => {
  it("compiles to the same spec as the same workflow in YAML", () => {
    const yaml = parseWorkflow(readFileSync("test/fixtures/valid/brief.yaml", "utf8"), "brief.yaml");
    expect(briefWorkflow().spec).toStrictEqual(yaml);
    expect(briefWorkflow().spec).toStrictEqual(BRIEF_SPEC);
  });

  it("compiles examples/fan-out.yaml's shape the same way", () => {
    const yaml = parseWorkflow(readFileSync("examples/fan-out.yaml", "utf8"), "fan-out.yaml");
    const count = (i: number) => ({
      action: "js" as const,
      with: {
        module: "./tasks.mjs",
        export: "countWords",
        args: { text: `\${{ tasks.split.output[${i}] }}` },
      },
    });
    const built = workflow("fan-out", {
      version: 1,
      description: yaml.description,
      inputs: {
        text: {
          type: "string",
          default: yaml.inputs.text?.default,
          description: "The text whose words are counted.",
        },
      },
      output: yaml.output,
    })
      .task("split", { action: "js", with: yaml.tasks.split?.with })
      .task("count_0", count(0))
      .task("count_1", count(1))
      .task("count_2", {
        action: "shell",
        description: yaml.tasks.count_2?.description,
        with: yaml.tasks.count_2?.with,
      })
      .task("pause", {
        action: "sleep",
        after: "split",
        description: yaml.tasks.pause?.description,
        with: { duration: "200ms" },
      })
      .task("join", {
        action: "noop",
        trigger: "all_done",
        after: ["pause"],
        description: yaml.tasks.join?.description,
        with: yaml.tasks.join?.with,
      });
    expect(built.spec).toStrictEqual(yaml);
  });

  it("keeps function bodies apart from the spec, with action function", async () => {
    const flow = workflow("calc")
      .task("seed", {}, () => 21)
      .task("double", { after: ["seed"] }, ({ seed }) => seed * 2)
      .task("show", { action: "echo", with: { message: "${{ tasks.double.output }}" } });
    expect(flow.spec.tasks.double).toMatchObject({ action: "function", with: {}, dependsOn: ["seed"] });
    expect(flow.spec.tasks.show?.dependsOn).toEqual(["double"]);
    expect([...flow.functions.keys()]).toEqual(["seed", "double"]);
    expect(await flow.functions.get("double")?.({ seed: 21 }, ctx)).toBe(42);
    expect(JSON.parse(JSON.stringify(flow.spec))).toStrictEqual(flow.spec);
  });

  it("is immutable: each task() returns a new workflow", () => {
    const base = workflow("w").task("a", { action: "noop" });
    const extended = base.task("b", { action: "noop" });
    expect(Object.keys(base.spec.tasks)).toEqual(["a"]);
    expect(Object.keys(extended.spec.tasks)).toEqual(["a", "b"]);
  });

  it("throws every problem at once as a DefinitionError at <builder>", () => {
    const flow = workflow("Bad Name", { defaults: { timeout: "soon" } })
      .task("a", { action: "noop", retry: { attempts: 0 } })
      .task("a", { action: "noop" })
      .task("b", { action: "echo", with: { message: "${{ tasks.zz.output }}" } });
    let error: unknown;
    try {
      void flow.spec;
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(DefinitionError);
    expect((error as DefinitionError).message.split("\n")).toEqual([
      '<builder>: duplicate task name "a": each task needs a name of its own',
      '<builder>: "name" is "Bad Name", expected lowercase letters, digits, "_" and "-" only, like "nightly-etl"',
      '<builder>: "defaults.timeout" is "soon", expected a duration (a number of milliseconds or a string like 250ms, 30s, 5m, 2h, 1d, at most 365d)',
      '<builder>: task "b": unknown task "zz" in the expression "${{ tasks.zz.output }}" of "with.message" (known tasks: a)',
    ]);
    expect((error as DefinitionError).diagnostics[0]).toEqual({
      file: "<builder>",
      line: 0,
      col: 0,
      task: "a",
      message: 'duplicate task name "a": each task needs a name of its own',
    });
  });

  it("reports a cycle built through expressions", () => {
    const flow = workflow("loop")
      .task("a", { action: "echo", with: { message: "${{ tasks.b.output }}" } })
      .task("b", { action: "noop", after: ["a"] });
    expect(() => flow.spec).toThrow(
      "<builder>: cycle: a -> b -> a; a task cannot wait for itself, directly or through other tasks",
    );
  });

  it("rejects function misuse from untyped callers", () => {
    const untyped = workflow("w") as unknown as {
      task(name: string, options: object, fn?: unknown): { spec: unknown };
    };
    expect(() => untyped.task("f", { action: "function" }).spec).toThrow(
      '<builder>: task "f": action "function" needs a function: pass it as the third argument of .task()',
    );
    expect(() => untyped.task("f", { action: "shell" }, () => 1).spec).toThrow(
      '<builder>: task "f": a task with a function takes no "action" (it is "function"), got "shell"',
    );
  });
});
