/** Property tests of the DSL parser: random valid DAGs compile as expected; random input never crashes it. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { parseWorkflow, validateWorkflowSource } from "../../src/definition/index.js";

interface Plan {
  names: string[];
  after: number[][];
  reads: number[][];
}

/** n tasks; task i may wait for (after) and read (expressions) any tasks before it, so the graph is a DAG. */
const plans = fc
  .uniqueArray(fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/), { minLength: 1, maxLength: 12 })
  .chain((names) =>
    fc.record({
      names: fc.constant(names),
      after: fc.tuple(...names.map((_, i) => fc.subarray([...Array(i).keys()]))),
      reads: fc.tuple(...names.map((_, i) => fc.subarray([...Array(i).keys()]))),
    }),
  ) as fc.Arbitrary<Plan>;

function toDocument(plan: Plan): Record<string, unknown> {
  const tasks: Record<string, unknown> = {};
  plan.names.forEach((name, i) => {
    const after = (plan.after[i] ?? []).map((j) => plan.names[j]);
    const reads = (plan.reads[i] ?? []).map((j) => `\${{ tasks.${plan.names[j]}.output }}`);
    tasks[name] = {
      action: "noop",
      ...(after.length === 1 ? { after: after[0] } : after.length > 1 ? { after } : {}),
      with: { message: reads.join(" and "), list: reads },
    };
  });
  return { name: "random", tasks };
}

describe("DSL properties", () => {
  it("compiles any DAG: tasks in source order, dependsOn = sorted union of after and reads", () => {
    fc.assert(
      fc.property(plans, fc.boolean(), (plan, asJson) => {
        const document = toDocument(plan);
        const source = asJson ? JSON.stringify(document, null, 2) : stringify(document);
        const spec = parseWorkflow(source, asJson ? "random.json" : "random.yaml");
        expect(Object.keys(spec.tasks)).toEqual(plan.names);
        plan.names.forEach((name, i) => {
          const expected = [...new Set([...(plan.after[i] ?? []), ...(plan.reads[i] ?? [])])].map(
            (j) => plan.names[j],
          );
          expect(spec.tasks[name]?.dependsOn).toEqual(expected.sort());
          expect(spec.tasks[name]?.after).toEqual((plan.after[i] ?? []).map((j) => plan.names[j]));
        });
      }),
    );
  });

  it("reports a cycle when the first task waits for a task that depends on it", () => {
    fc.assert(
      fc.property(
        plans.filter((plan) => plan.names.length > 1),
        (plan) => {
          const document = toDocument({
            ...plan,
            // Chain every task to the one before, then close the loop at the first task.
            after: plan.names.map((_, i) => (i === 0 ? [plan.names.length - 1] : [i - 1])),
          });
          const diagnostics = validateWorkflowSource(stringify(document), "loop.yaml");
          const cycle = diagnostics.filter((d) => d.message.startsWith("cycle: "));
          expect(cycle).toHaveLength(1);
          expect(cycle[0]?.message).toContain(`cycle: ${plan.names[0]} -> `);
          expect(cycle[0]?.task).toBe(plan.names[0]);
        },
      ),
    );
  });

  it("never throws on arbitrary text, and places every diagnostic in the file", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((value) => stringify(value)),
        ),
        (source) => {
          const lines = source.split("\n").length;
          for (const diagnostic of validateWorkflowSource(source, "any.yaml")) {
            expect(diagnostic.line).toBeGreaterThanOrEqual(1);
            expect(diagnostic.line).toBeLessThanOrEqual(lines + 1);
            expect(diagnostic.message.length).toBeGreaterThan(0);
          }
        },
      ),
    );
  });

  it("never throws on arbitrary values in a task's fields", () => {
    const field = fc.constantFrom(
      "action",
      "with",
      "after",
      "when",
      "trigger",
      "allowFailure",
      "retry",
      "timeout",
      "undo",
    );
    fc.assert(
      fc.property(field, fc.jsonValue(), (name, value) => {
        const document = {
          name: "fuzz",
          tasks: { a: { action: "noop" }, b: { action: "noop", [name]: value } },
        };
        const diagnostics = validateWorkflowSource(stringify(document), "fuzz.yaml");
        for (const diagnostic of diagnostics) expect(diagnostic.line).toBeGreaterThanOrEqual(1);
      }),
    );
  });
});
