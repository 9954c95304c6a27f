/**
 * `js` tasks with a literal module path are checked when the workflow is loaded from a file: the
 * module exists, and an ES module exports the function named, read statically (never run).
 */
import { describe, expect, it } from "vitest";
import {
  DefinitionError,
  formatDiagnostic,
  loadWorkflowFile,
  parseWorkflow,
} from "../../src/definition/index.js";

const DIR = "test/fixtures/js-modules";

async function diagnostics(file: string, cwd?: string): Promise<string[]> {
  try {
    await loadWorkflowFile(file, { cwd });
  } catch (error) {
    if (error instanceof DefinitionError) return error.diagnostics.map(formatDiagnostic);
    throw error;
  }
  return [];
}

describe("js modules in weft validate", () => {
  it("reports a missing module, a missing export and a constant export at their place", async () => {
    expect(await diagnostics(`${DIR}/js.yaml`)).toEqual([
      `${DIR}/js.yaml:4:63: task "b": "with.export" is "qoute", but module "./steps/price.mjs" has no such export (did you mean "quote"?); it exports quote, rate, default`,
      `${DIR}/js.yaml:5:63: task "c": "with.export" is "rate", but in module "./steps/price.mjs" it is a constant value, not a function`,
      `${DIR}/js.yaml:6:36: task "d": "with.module" is "./steps/nope.mjs", which is not an existing file (resolved to "${process.cwd()}/${DIR}/steps/nope.mjs")`,
    ]);
  });

  it("resolves modules against the workflow file's directory, whatever the working directory", async () => {
    const found = await diagnostics("js.yaml", DIR);
    expect(found).toHaveLength(3);
    expect(found[0]).toMatch(/^js\.yaml:4:63: /);
  });

  it("leaves expressions and text without a file to the worker", () => {
    const text = `name: js
tasks:
  a: { action: js, with: { module: ./nowhere.mjs } }
  b: { action: js, with: { module: "\${{ tasks.a.output }}" } }
`;
    // parseWorkflow has no file on disk, so it cannot look for modules.
    expect(Object.keys(parseWorkflow(text, "js.yaml").tasks)).toEqual(["a", "b"]);
  });
});
