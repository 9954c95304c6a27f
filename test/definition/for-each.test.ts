/** forEach in the definition layer: the DSL, the builder, and what validation refuses. */
import { describe, expect, expectTypeOf, it } from "vitest";
import { parseWorkflow, validateWorkflowSource, workflow } from "../../src/definition/index.js";
import { referencedTasks } from "../../src/definition/references.js";

const FLOW = `name: fan
tasks:
  list:
    action: echo
    with: { message: [1, 2, 3] }
  each:
    action: echo
    forEach: "\${{ tasks.list.output.message }}"
    maxParallel: 2
    with: { message: "\${{ item }} at \${{ index }}" }
`;

describe("forEach in the DSL", () => {
  it("compiles forEach and maxParallel, and reads the list's task as a dependency", () => {
    const spec = parseWorkflow(FLOW, "fan.yaml");
    expect(spec.tasks.each).toMatchObject({
      forEach: "${{ tasks.list.output.message }}",
      maxParallel: 2,
      dependsOn: ["list"],
    });
    expect(spec.tasks.list?.forEach).toBeUndefined();
  });

  it("refuses item and index outside the with of a forEach task, with file:line:col", () => {
    const source = `name: fan
tasks:
  list: { action: echo, with: { message: [1] } }
  plain:
    action: echo
    after: list
    with: { message: "\${{ item.id }}" }
  each:
    action: echo
    forEach: "\${{ tasks.list.output.message }}"
    when: "\${{ index > 0 }}"
output: "\${{ $$.item }}"
`;
    const diagnostics = validateWorkflowSource(source, "fan.yaml");
    const lines = diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`);
    expect(lines).toEqual([
      expect.stringMatching(
        /^7:\d+: task "plain": .*reads item, which exists only in the "with" of a task with "forEach"/,
      ),
      expect.stringMatching(/^11:\d+: task "each": .*reads index, which exists only/),
      expect.stringMatching(/^12:\d+: .*reads item, which exists only/),
    ]);
  });

  it("takes item inside a path's filter as a field of the element, not the instance's item", () => {
    const source = `name: fan
tasks:
  list: { action: echo, with: { message: [1] } }
  plain: { action: echo, with: { message: "\${{ tasks.list.output.message[item > 0] }}" } }
`;
    expect(validateWorkflowSource(source, "fan.yaml")).toEqual([]);
  });

  it("refuses a forEach that is not one expression, maxParallel without forEach; allows an undo reading item", () => {
    const source = `name: fan
tasks:
  a:
    action: noop
    forEach: "items: \${{ inputs.x }}"
    undo: { action: noop, with: { gone: "\${{ item }}" } }
  b: { action: noop, maxParallel: 3 }
  c: { action: noop, forEach: "\${{ tasks.c.output }}" }
  d: { action: noop, forEach: "\${{ [1] }}", maxParallel: 0 }
`;
    const messages = validateWorkflowSource(source, "fan.yaml").map((d) => `${d.line}: ${d.message}`);
    expect(messages).toEqual([
      expect.stringMatching(
        /^5: task "a": "forEach" is .*expected one "\$\{\{ \}\}" expression yielding a list/,
      ),
      expect.stringMatching(/^7: task "b": "maxParallel" needs "forEach"/),
      expect.stringMatching(/^8: task "c": .*reads the task itself/),
      expect.stringMatching(/^9: .*maxParallel.*an integer >= 1/),
    ]);
  });

  it("finds no task read in item or index", () => {
    expect(referencedTasks("item.tasks")).toEqual([]);
  });
});

describe("forEach in the builder", () => {
  it("compiles like the DSL and types the output as a list of the function's outputs", () => {
    const flow = workflow("fan")
      .task("list", { action: "echo", with: { message: [1, 2, 3] } })
      .task(
        "square",
        { after: "list", forEach: "${{ tasks.list.output.message }}", maxParallel: 2 },
        (_deps, ctx) => {
          expectTypeOf(ctx.index).toEqualTypeOf<number>();
          return (ctx.item as number) ** 2;
        },
      )
      .task("echoed", {
        action: "echo",
        forEach: "${{ tasks.square.output }}",
        with: { message: "${{ item }}" },
      })
      .task("sum", { after: ["square", "echoed"] }, ({ square, echoed }) => {
        expectTypeOf(square).toEqualTypeOf<number[]>();
        expectTypeOf(echoed).toEqualTypeOf<unknown[]>();
        return square.reduce((a, b) => a + b, 0);
      });
    expect(flow.spec.tasks.square).toMatchObject({
      forEach: "${{ tasks.list.output.message }}",
      maxParallel: 2,
    });
    expect(flow.spec.tasks.echoed?.dependsOn).toEqual(["square"]);
  });

  it("refuses item in a task without forEach", () => {
    const flow = workflow("fan").task("a", { action: "echo", with: { message: "${{ item }}" } });
    expect(() => flow.spec).toThrow(/reads item, which exists only in the "with" of a task with "forEach"/);
  });
});
