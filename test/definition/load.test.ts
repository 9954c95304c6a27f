import { readFileSync } from "node:fs";
import { BRIEF_SPEC } from "./brief-spec.js";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_RETRY,
  DefinitionError,
  loadWorkflowFile,
  parseWorkflow,
  validateWorkflowSource,
} from "../../src/definition/index.js";

const fixture = (name: string) => readFileSync(`test/fixtures/valid/${name}`, "utf8");
const minimal = (tasks: string, top = "") => `name: t\n${top}tasks:\n${tasks}`;

describe("parseWorkflow", () => {
  it("compiles the DSL to a WorkflowSpec", () => {
    const spec = parseWorkflow(fixture("brief.yaml"), "brief.yaml");
    expect(spec).toStrictEqual(BRIEF_SPEC);
    expect(Object.keys(spec.tasks)).toEqual(["extract", "double", "approve", "load"]);
    expect(JSON.parse(JSON.stringify(spec))).toStrictEqual(spec);
  });

  it("reads JSON the same way", () => {
    expect(parseWorkflow(fixture("brief.json"), "brief.json")).toStrictEqual(BRIEF_SPEC);
  });

  it("takes unset fields from DEFAULT_RETRY, and a task's retry field by field over the defaults", () => {
    const bare = parseWorkflow(minimal("  a: { action: noop }\n"), "t.yaml");
    expect(bare.tasks.a?.retry).toEqual(DEFAULT_RETRY);
    expect(bare.tasks.a?.timeout).toBeUndefined();
    const source = minimal(
      "  a: { action: noop, retry: { attempts: 5 } }\n  b: { action: noop, retry: { maxBackoff: 1m, interruptions: 0 }, timeout: 2s }\n",
      "defaults: { retry: { attempts: 3, backoff: 1.5s }, timeout: 250 }\n",
    );
    const spec = parseWorkflow(source, "t.yaml");
    expect(spec.tasks.a?.retry).toEqual({
      attempts: 5,
      backoff: 1500,
      factor: 2,
      maxBackoff: 60_000,
      interruptions: 3,
    });
    expect(spec.tasks.b?.retry).toEqual({
      attempts: 3,
      backoff: 1500,
      factor: 2,
      maxBackoff: 60_000,
      interruptions: 0,
    });
    expect([spec.tasks.a?.timeout, spec.tasks.b?.timeout]).toEqual([250, 2000]);
  });

  it("accepts after as one name and adds every task read by with and when to dependsOn", () => {
    const spec = parseWorkflow(
      minimal(
        [
          "  a: { action: noop }",
          "  b: { action: noop }",
          "  c: { action: noop }",
          "  d:",
          "    action: echo",
          "    after: c",
          '    when: "${{ tasks.b.output }}"',
          '    with: { message: ["${{ tasks.a.output }}"] }',
          '    undo: { action: echo, with: { message: "${{ tasks.c.output }} ${{ tasks.b.output }}" } }',
          "",
        ].join("\n"),
      ),
      "t.yaml",
    );
    expect(spec.tasks.d).toMatchObject({ after: ["c"], dependsOn: ["a", "b", "c"] });
  });

  it("does not add edges for the undo and the output", () => {
    const spec = parseWorkflow(
      minimal(
        '  a: { action: noop }\n  b: { action: noop, undo: { action: noop, with: { m: "${{ tasks.a.output }}" } } }\n',
      ) + 'output: "${{ tasks.b.output }}"\n',
      "t.yaml",
    );
    expect(spec.tasks.b?.dependsOn).toEqual([]);
  });

  it("compiles inputs: type any by default, required without a default", () => {
    const spec = parseWorkflow(
      minimal(
        "  a: { action: noop }\n",
        "inputs:\n  who: {}\n  n: { type: number, default: 0, description: N }\n",
      ),
      "t.yaml",
    );
    expect(spec.inputs).toStrictEqual({
      who: { type: "any", required: true },
      n: { type: "number", default: 0, description: "N", required: false },
    });
  });

  it("throws a DefinitionError whose message lists file:line:col lines", () => {
    expect(() => parseWorkflow("name: x\ntasks:\n  a: { action: noop, after: [b] }\n", "x.yaml")).toThrow(
      new DefinitionError([
        {
          file: "x.yaml",
          line: 3,
          col: 30,
          task: "a",
          message: 'task "a": unknown task "b" in "after" (known tasks: none)',
        },
      ]),
    );
  });

  it("refuses YAML alias bombs with a diagnostic", () => {
    const bomb = ["name: x", "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"];
    for (let i = 0; i < 8; i++)
      bomb.push(
        `${"bcdefghij"[i]}: &${"bcdefghij"[i]} [${Array(10)
          .fill(`*${i === 0 ? "a" : "bcdefghij"[i - 1]}`)
          .join(", ")}]`,
      );
    const diagnostics = validateWorkflowSource(
      `${bomb.join("\n")}\ntasks: { t: { action: noop } }\n`,
      "bomb.yaml",
    );
    expect(diagnostics[0]?.message).toMatch(/^invalid YAML: /);
  });
});

describe("loadWorkflowFile", () => {
  it("reads a file relative to cwd and names it as given", async () => {
    const spec = await loadWorkflowFile("valid/brief.yaml", { cwd: "test/fixtures" });
    expect(spec).toStrictEqual(BRIEF_SPEC);
    await expect(loadWorkflowFile("invalid/cycle.yaml", { cwd: "test/fixtures" })).rejects.toThrow(
      /^invalid\/cycle\.yaml:3:3: cycle: a -> b -> c -> a/,
    );
  });

  it("reports a file that cannot be read as a diagnostic without position", async () => {
    const error = await loadWorkflowFile("missing.yaml", { cwd: "test/fixtures" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DefinitionError);
    expect((error as DefinitionError).diagnostics).toEqual([
      { file: "missing.yaml", line: 0, col: 0, message: "cannot read the workflow file: it does not exist" },
    ]);
    expect((error as DefinitionError).message).toBe(
      "missing.yaml: cannot read the workflow file: it does not exist",
    );
    await expect(loadWorkflowFile("valid", { cwd: "test/fixtures" })).rejects.toThrow(
      "valid: cannot read the workflow file: it is a directory",
    );
  });
});
