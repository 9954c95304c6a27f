/** Code ids: the same functions give the same id, any change to one of them another. */
import { describe, expect, it } from "vitest";
import { workflow } from "../../src/definition/builder.js";
import { codeId, prepareWorkflow } from "../../src/runtime/code-id.js";

const flow = (body: (deps: Record<string, unknown>) => unknown) =>
  workflow("etl").task("seed", { action: "noop" }).task("parse", { after: "seed" }, body);

describe("code ids", () => {
  it("are stable for the same functions and change with a function's source or the workflow's name", () => {
    const one = prepareWorkflow(flow(() => 1)).code;
    expect(one).toMatch(/^[0-9a-f]{16}$/);
    expect(prepareWorkflow(flow(() => 1)).code).toBe(one);
    expect(prepareWorkflow(flow(() => 2)).code).not.toBe(one);
    const fn = () => 1;
    expect(codeId("etl", new Map([["parse", fn]]))).toBe(one);
    expect(codeId("other", new Map([["parse", fn]]))).not.toBe(one);
  });

  it("do not depend on the order tasks were added in", () => {
    const a = () => "a";
    const b = () => "b";
    expect(
      codeId(
        "w",
        new Map([
          ["a", a],
          ["b", b],
        ]),
      ),
    ).toBe(
      codeId(
        "w",
        new Map([
          ["b", b],
          ["a", a],
        ]),
      ),
    );
  });

  it("are null for YAML specs and builder workflows of actions only", () => {
    const actions = workflow("plain").task("hi", { action: "echo", with: { message: "hi" } });
    expect(prepareWorkflow(actions).code).toBeNull();
    expect(prepareWorkflow(actions.spec).code).toBeNull();
  });
});
