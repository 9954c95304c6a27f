/**
 * Type-level checks of the builder: `tsc` compiles this file (it is in tsconfig's "test"), so a
 * wrong type fails the typecheck; the runtime assertions only keep vitest happy.
 */
import { describe, expectTypeOf, it } from "vitest";
import { workflow, type TaskContext, type Workflow } from "../../src/definition/index.js";

describe("builder types", () => {
  it("types deps from the outputs of the tasks named in after", () => {
    const flow = workflow("typed")
      .task("count", {}, () => 3)
      .task("name", {}, async () => "ada")
      .task("extract", { action: "shell", with: { command: "echo 1" } })
      .task("both", { after: ["count", "name"] }, (deps, ctx) => {
        expectTypeOf(deps).toEqualTypeOf<{ readonly count: number; readonly name: string }>();
        expectTypeOf(ctx).toEqualTypeOf<TaskContext>();
        return { total: deps.count, who: deps.name };
      })
      .task("one", { after: "both" }, ({ both }) => {
        expectTypeOf(both).toEqualTypeOf<{ total: number; who: string }>();
        return both.total > 1;
      })
      .task("untyped", { after: ["extract"] }, ({ extract }) => {
        expectTypeOf(extract).toBeUnknown();
      })
      .task("alone", {}, (deps) => {
        expectTypeOf(deps).toEqualTypeOf<Record<never, never>>();
      });

    expectTypeOf(flow).toEqualTypeOf<
      Workflow<
        Record<never, never> &
          Record<"count", number> &
          Record<"name", string> &
          Record<"extract", unknown> &
          Record<"both", { total: number; who: string }> &
          Record<"one", boolean> &
          Record<"untyped", void> &
          Record<"alone", void>
      >
    >();
  });

  it("accepts only known task names in after, and no action beside a function", () => {
    const base = workflow("checked").task("a", { action: "noop" });
    // @ts-expect-error "b" is not a task of this workflow (yet)
    base.task("c", { action: "noop", after: ["b"] });
    // @ts-expect-error a typo in a single name
    base.task("c", { action: "noop", after: "aa" });
    // @ts-expect-error a function task names no action
    base.task("c", { action: "shell" }, () => 1);
    // @ts-expect-error "function" is not an action a task may name
    base.task("c", { action: "function" });
    // @ts-expect-error durations are numbers or strings
    base.task("c", { action: "noop", timeout: true });
    expectTypeOf(base.task("c", { action: "noop", after: ["a"] }).name).toBeString();
  });
});
