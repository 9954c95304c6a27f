/**
 * What the engine writes in an execution's history, on a real MemoryStore through the sync
 * runner: the end of a task says how it ended, not how an earlier attempt did.
 */
import { describe, expect, it } from "vitest";
import { workflow } from "../../src/definition/builder.js";
import { isUserEvent } from "../../src/engine/events.js";
import { createRuntime } from "../../src/runtime/runtime.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";

describe("the history", () => {
  it("records a success after a failed attempt without that attempt's error", async () => {
    const rt = await createRuntime({ store: new MemoryStore(), concurrency: 2, pollMs: 20 });
    let calls = 0;
    const flow = workflow("flaky", { output: "${{ tasks.a.output }}" }).task(
      "a",
      { retry: { attempts: 2, backoff: 1 } },
      () => {
        calls += 1;
        if (calls === 1) throw new Error("first attempt fails");
        return "ok";
      },
    );
    const execution = await rt.run(flow);
    expect(execution.status).toBe("succeeded");
    const events = await rt.store.listEvents(execution.id);
    const retrying = events.find((e) => e.type === "task:retrying" && e.task === "a");
    expect(retrying?.error?.message).toContain("first attempt fails");
    const succeeded = events.find((e) => e.type === "task:succeeded" && e.task === "a");
    expect(succeeded).toMatchObject({ attempt: 2 });
    expect(succeeded!.error).toBeUndefined();
    // The internal end run (it evaluates `output`) is in the store, and isUserEvent sets it apart.
    expect(events.some((e) => e.task === "$end")).toBe(true);
    expect(events.filter(isUserEvent).some((e) => e.task === "$end")).toBe(false);
    await rt.close();
  });
});
