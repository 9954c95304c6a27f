import { describe, expect, it } from "vitest";
import { DefinitionError, validateSpec, type WorkflowSpec } from "../../src/definition/index.js";
import { BRIEF_SPEC } from "./brief-spec.js";

const messages = (spec: WorkflowSpec): string[] => {
  try {
    validateSpec(spec);
    return [];
  } catch (error) {
    if (!(error instanceof DefinitionError)) throw error;
    return error.diagnostics.map((d) => d.message);
  }
};

const clone = (): WorkflowSpec => structuredClone(BRIEF_SPEC);

describe("validateSpec", () => {
  it("accepts a compiled spec, also after a JSON round trip", () => {
    expect(() => validateSpec(BRIEF_SPEC)).not.toThrow();
    expect(() => validateSpec(JSON.parse(JSON.stringify(BRIEF_SPEC)) as WorkflowSpec)).not.toThrow();
  });

  it("checks the compiled fields a schema would have checked", () => {
    const spec = clone();
    spec.name = "Bad";
    spec.tasks.extract!.action = "shel";
    spec.tasks.extract!.retry = { ...spec.tasks.extract!.retry, attempts: 0 };
    spec.tasks.double!.trigger = "sometimes" as never;
    spec.tasks.double!.timeout = -1;
    expect(messages(spec)).toEqual([
      '"name" is "Bad", expected lowercase letters, digits, "_" and "-" only, like "nightly-etl"',
      'task "extract": unknown action "shel", expected one of: noop, echo, sleep, fail, shell, http, js, delegate, workflow, function',
      'task "extract": "retry.attempts" is 0, expected an integer >= 1',
      'task "double": "trigger" is "sometimes", expected one of all_success, all_done, any_failed',
      'task "double": "timeout" is -1, expected milliseconds from 0 to 31536000000 (365 days)',
    ]);
  });

  it("refuses durations past 365 days, which would overflow the stores' timestamps", () => {
    const spec = clone();
    spec.timeout = 1e15;
    spec.tasks.extract!.retry = { ...spec.tasks.extract!.retry, maxBackoff: 366 * 86_400_000 };
    expect(messages(spec)).toEqual([
      '"timeout" is 1000000000000000, expected milliseconds from 0 to 31536000000 (365 days)',
      'task "extract": "retry.backoff" and "retry.maxBackoff" must be milliseconds from 0 to 31536000000 (365 days)',
    ]);
  });

  it("runs the semantic checks: unknown tasks, cycles, a dependsOn that names no task", () => {
    const unknown = clone();
    unknown.tasks.load!.after = ["approve", "nope"];
    expect(messages(unknown)).toEqual([
      'task "load": unknown task "nope" in "after" (known tasks: approve, double, extract)',
    ]);
    const cyclic = clone();
    cyclic.tasks.extract!.dependsOn = ["load"];
    expect(messages(cyclic)).toEqual([
      "cycle: extract -> double -> approve -> load -> extract; a task cannot wait for itself, directly or through other tasks",
    ]);
    const handMade = clone();
    handMade.tasks.extract!.dependsOn = ["ghost"];
    expect(messages(handMade)).toEqual(['task "extract": "dependsOn" names the unknown task "ghost"']);
  });

  it("uses the <builder> file without position", () => {
    const spec = clone();
    spec.name = "";
    expect(() => validateSpec(spec)).toThrow(/^<builder>: "name" is ""/);
  });
});
