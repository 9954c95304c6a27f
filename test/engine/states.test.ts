import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { canTransitionExecution, canTransitionTask, statesMarkdown } from "../../src/engine/states.js";

describe("state machines", () => {
  it("docs/states.md is generated from the transition tables (run npm run docs:states)", () => {
    expect(readFileSync(new URL("../../docs/states.md", import.meta.url), "utf8")).toBe(statesMarkdown());
  });

  it("allows the documented transitions and nothing else", () => {
    expect(canTransitionTask("blocked", "ready")).toBe(true);
    expect(canTransitionTask("succeeded", "running")).toBe(false);
    expect(canTransitionExecution("running", "compensating")).toBe(true);
    expect(canTransitionExecution("succeeded", "failed")).toBe(false);
  });
});
