import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  renderWorkflowJsonSchema,
  WORKFLOW_SCHEMA_FILE,
  workflowJsonSchema,
} from "../../src/definition/index.js";

type Schema = { properties?: Record<string, Schema>; additionalProperties?: Schema | boolean } & Record<
  string,
  unknown
>;

describe("schema/workflow.schema.json", () => {
  it("is up to date with the zod schema (run `npm run schema` when this fails)", () => {
    expect(
      readFileSync(WORKFLOW_SCHEMA_FILE, "utf8"),
      `${WORKFLOW_SCHEMA_FILE} is stale: run npm run schema`,
    ).toBe(renderWorkflowJsonSchema());
  });

  it("is a draft 2020-12 schema with a title, strict objects and descriptions for editors", () => {
    const schema = workflowJsonSchema() as Schema;
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(schema.title).toBe("Weft workflow");
    expect(schema.required).toEqual(["name", "tasks"]);
    expect(schema.additionalProperties).toBe(false);
    const task = (schema.properties?.tasks?.additionalProperties ?? {}) as Schema;
    expect(task.additionalProperties).toBe(false);
    for (const [field, property] of Object.entries(task.properties ?? {})) {
      expect(property.description, `task field "${field}" has a description`).toEqual(expect.any(String));
    }
    expect(task.properties?.action?.enum).toEqual([
      "noop",
      "echo",
      "sleep",
      "fail",
      "shell",
      "http",
      "js",
      "delegate",
      "workflow",
    ]);
  });

  it("describes durations as a pattern string or a number of at most 365 days", () => {
    const schema = workflowJsonSchema() as Schema;
    expect(schema.properties?.timeout?.anyOf).toEqual([
      { type: "number", minimum: 0, maximum: 365 * 86_400_000 },
      { type: "string", pattern: "^\\d+(?:\\.\\d+)?(?:ms|s|m|h|d)$" },
    ]);
  });

  it("is a union on action: each action's with has its own fields, and expressions stand for values", () => {
    const task = (workflowJsonSchema() as Schema).properties!.tasks!.additionalProperties as Schema;
    const branches = task.allOf as { if: Schema; then: { properties: { with: Schema } } }[];
    const withOf = (action: string) =>
      branches.find((branch) => JSON.stringify(branch.if).includes(`"const":"${action}"`))!.then.properties
        .with;
    const shell = withOf("shell");
    expect(shell.required).toEqual(["command"]);
    expect(shell.additionalProperties).toBe(false);
    expect(Object.keys(shell.properties!)).toEqual(["command", "env", "cwd"]);
    const duration = withOf("sleep").properties!.duration!;
    expect(duration.anyOf).toContainEqual(expect.objectContaining({ type: "string", pattern: "\\$\\{\\{" }));
    expect(Object.keys(withOf("js").properties!)).toEqual(["module", "export", "args"]);
    // The undo of a task is checked the same way.
    expect((task.properties!.undo!.allOf as unknown[]).length).toBe(branches.length);
  });
});
