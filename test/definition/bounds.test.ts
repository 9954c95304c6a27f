/**
 * What a definition may say without taking a process down: durations and names within the limits
 * the stores and timers hold, and definitions of any size validated in linear time with a bounded
 * report. The big documents below took minutes (quadratic checks) before; a regression makes
 * these tests time out rather than pass slowly.
 */
import fc from "fast-check";
import jsonata from "jsonata";
import { describe, expect, it } from "vitest";
import {
  DefinitionError,
  MAX_NAME_LENGTH,
  MAX_REPORTED_DIAGNOSTICS,
  formatDiagnostic,
  parseWorkflow,
  validateSpec,
  validateWorkflowSource,
  workflow,
} from "../../src/definition/index.js";
import { simplePath } from "../../src/definition/simple-paths.js";
import { MAX_DURATION_MS, parseDuration } from "../../src/shared/durations.js";

const DAY = 86_400_000;

describe("durations", () => {
  it("stop at 365 days, in every form", () => {
    expect(MAX_DURATION_MS).toBe(365 * DAY);
    expect(parseDuration("365d")).toBe(365 * DAY);
    expect(parseDuration(365 * DAY)).toBe(365 * DAY);
    expect(parseDuration("366d")).toBeUndefined();
    expect(parseDuration("999999999999d")).toBeUndefined();
    expect(parseDuration(365 * DAY + 1)).toBeUndefined();
    expect(parseDuration("8761h")).toBeUndefined();
  });

  it("past the limit are reported at their place, saying the limit", () => {
    const text = "name: x\ntasks:\n  a:\n    action: noop\n    timeout: 400d\n";
    expect(validateWorkflowSource(text, "x.yaml").map(formatDiagnostic)).toEqual([
      'x.yaml:5:14: task "a": "timeout" is "400d", expected a duration (a number of milliseconds or a string like 250ms, 30s, 5m, 2h, 1d, at most 365d)',
    ]);
    expect(parseWorkflow(text.replace("400d", "365d"), "x.yaml").tasks.a?.timeout).toBe(365 * DAY);
  });
});

describe("names", () => {
  const long = "a".repeat(9000);

  it("of workflows are refused past MAX_NAME_LENGTH with a short message at their place", () => {
    const [diagnostic, ...rest] = validateWorkflowSource(
      `name: ${long}\ntasks:\n  a: { action: noop }\n`,
      "x.yaml",
    );
    expect(rest).toEqual([]);
    expect(formatDiagnostic(diagnostic!)).toBe(
      `x.yaml:1:7: "name" is "${"a".repeat(60)}"..., expected a workflow name of at most ${MAX_NAME_LENGTH} characters`,
    );
    const longest = "a".repeat(MAX_NAME_LENGTH);
    expect(parseWorkflow(`name: ${longest}\ntasks:\n  a: { action: noop }\n`, "x.yaml").name).toBe(longest);
  });

  it("of tasks are refused past MAX_NAME_LENGTH, in files, the builder and validateSpec", () => {
    const name = "t".repeat(MAX_NAME_LENGTH + 1);
    expect(
      validateWorkflowSource(`name: x\ntasks:\n  ${name}: { action: noop }\n`, "x.yaml").map(
        formatDiagnostic,
      ),
    ).toEqual([
      `x.yaml:3:3: task name "${"t".repeat(60)}"... is invalid, expected a task name of at most ${MAX_NAME_LENGTH} characters`,
    ]);
    expect(() => workflow("x").task(name, { action: "noop" }).spec).toThrow(DefinitionError);
    const spec = workflow("x").task("a", { action: "noop" }).spec;
    expect(() => validateSpec({ ...spec, tasks: { [name]: spec.tasks.a! } })).toThrow(
      `task name "${"t".repeat(40)}"... (201 characters) is invalid, expected a task name of at most 200 characters`,
    );
    expect(() => validateSpec({ ...spec, name: long })).toThrow(
      `"name" is "${"a".repeat(40)}"... (9,000 characters), expected a workflow name of at most 200 characters`,
    );
  });
});

/** A JSON definition of `n` chained tasks, each reading the one before; `broken` makes every `after` unknown. */
function chain(n: number, broken = false): string {
  const tasks: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    tasks[`t${i}`] = {
      action: "echo",
      with: { message: i === 0 ? "start" : `\${{ tasks.t${i - 1}.output }}` },
      ...(broken ? { after: [`missing${i}`] } : i > 1 ? { after: [`t${i - 2}`] } : {}),
    };
  }
  return JSON.stringify({ name: "big", tasks });
}

describe("big definitions", () => {
  it("100,000 tasks validate, with their implicit dependencies", () => {
    const spec = parseWorkflow(chain(100_000), "big.json");
    expect(Object.keys(spec.tasks)).toHaveLength(100_000);
    expect(spec.tasks.t99999?.dependsOn).toEqual(["t99997", "t99998"]);
  });

  it("report the first 100 errors in source order and count the rest", () => {
    const diagnostics = validateWorkflowSource(chain(12_000, true), "big.json");
    expect(diagnostics).toHaveLength(MAX_REPORTED_DIAGNOSTICS + 1);
    expect(diagnostics[0]?.message).toBe(
      'task "t0": unknown task "missing0" in "after" (known tasks: t1, t10, t100, t1000, t10000, t10001, t10002, t10003, t10004, t10005, t10006, t10007, t10008, t10009, t1001, t10010, t10011, t10012, t10013, t10014, and 11,979 more)',
    );
    expect(diagnostics[99]?.task).toBe("t99");
    expect(formatDiagnostic(diagnostics[100]!)).toBe("big.json: ... and 11,900 more errors");
    const error = (() => {
      try {
        parseWorkflow(chain(12_000, true), "big.json");
      } catch (caught) {
        return caught as DefinitionError;
      }
    })();
    expect(error?.message.split("\n")).toHaveLength(101);
  });

  it("find duplicate task names among thousands, each at its place", () => {
    const lines = ["name: dup", "tasks:"];
    for (let i = 0; i < 20_000; i++) lines.push(`  t${i % 10_000}: { action: noop }`);
    const diagnostics = validateWorkflowSource(`${lines.join("\n")}\n`, "dup.yaml");
    expect(diagnostics).toHaveLength(MAX_REPORTED_DIAGNOSTICS + 1);
    expect(formatDiagnostic(diagnostics[0]!)).toBe(
      'dup.yaml:10003:3: duplicate task name "t0": each task needs a name of its own',
    );
    expect(diagnostics[100]?.message).toBe("... and 9,900 more errors");
  });

  it("in JSON still report a task name written twice, escaped or not", () => {
    const text = '{"name": "x", "tasks": {\n  "a": {"action": "noop"},\n  "\\u0061": {"action": "echo"}\n}}';
    expect(validateWorkflowSource(text, "x.json").map(formatDiagnostic)).toEqual([
      'x.json:3:3: duplicate task name "a": each task needs a name of its own',
    ]);
    expect(
      parseWorkflow('{"name": "x", "tasks": {"a": {"action": "noop"}, "b": {"action": "echo"}}}', "x.json")
        .tasks.b?.action,
    ).toBe("echo");
  });

  it("report a long cycle once, starting at the task written first", () => {
    const tasks: Record<string, unknown> = {};
    for (let i = 0; i < 50_000; i++) tasks[`t${i}`] = { action: "noop", after: [`t${(i + 1) % 50_000}`] };
    const [cycle, ...rest] = validateWorkflowSource(JSON.stringify({ name: "c", tasks }), "c.json");
    expect(rest).toEqual([]);
    expect(cycle?.message).toMatch(/^cycle: t0 -> t49999 -> t49998 -> .* -> t1 -> t0; a task cannot wait/);
  });
});

describe("plain paths, read without JSONata's parser", () => {
  const name = fc.oneof(
    fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/),
    fc.constantFrom("and", "or", "in", "true", "false", "null", "function", "tasks", "inputs"),
    fc.stringMatching(/^`[^`]{1,8}`$/),
  );
  const body = fc
    .tuple(fc.array(name, { minLength: 1, maxLength: 5 }), fc.constantFrom("", " ", "  "))
    .map(([names, pad]) => `${pad}${names.join(pad === "" ? "." : " . ")}${pad}`);

  it("are exactly the bodies JSONata parses as a path of those field names", () => {
    fc.assert(
      fc.property(body, (text) => {
        const names = simplePath(text);
        if (names === undefined) return;
        const ast = jsonata(text).ast() as {
          type: string;
          value?: string;
          steps?: { type: string; value: string }[];
        };
        const steps = ast.type === "path" ? ast.steps! : [ast as { type: string; value: string }];
        expect(steps.map((step) => [step.type, step.value])).toEqual(names.map((n) => ["name", n]));
      }),
      { numRuns: 2000 },
    );
  });

  it("leave everything else to JSONata", () => {
    for (const text of [
      "tasks.a.output + 1",
      "tasks[0]",
      "$.tasks.a",
      "tasks.and.x",
      "true",
      "a..b",
      "tasks.1a",
      "",
    ]) {
      expect(simplePath(text), text).toBeUndefined();
    }
  });
});
