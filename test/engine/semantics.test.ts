/**
 * The engine's semantic rules, exercised through the sync runner on a real MemoryStore with
 * real task bodies (built-in actions and builder functions): no mock of the engine or store.
 */
import { describe, expect, it } from "vitest";
import { workflow } from "../../src/definition/builder.js";
import type { ExecutionEvent } from "../../src/engine/store.js";
import { createRuntime } from "../../src/runtime/runtime.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";

async function runtime() {
  return createRuntime({ store: new MemoryStore(), concurrency: 4, pollMs: 20 });
}

function statuses(runs: { task: string; kind: string; status: string }[]) {
  return Object.fromEntries(runs.filter((r) => r.kind === "task").map((r) => [r.task, r.status]));
}

/** Event ids of one type for one task (and kind), in history order. */
function eventIds(events: ExecutionEvent[], type: string, task: string, kind = "task"): number[] {
  return events.filter((e) => e.type === type && e.task === task && e.kind === kind).map((e) => e.id!);
}

describe("the passive engine through the sync runner", () => {
  it("runs a diamond, passing outputs along edges, and evaluates the workflow output", async () => {
    const rt = await runtime();
    const flow = workflow("diamond", { output: "${{ tasks.d.output }}" })
      .task("a", {}, () => 2)
      .task("b", { after: "a" }, ({ a }) => a + 1)
      .task("c", { after: "a" }, ({ a }) => a * 10)
      .task("d", { after: ["b", "c"] }, ({ b, c }) => b + c);
    const execution = await rt.run(flow);
    expect(execution.status).toBe("succeeded");
    expect(execution.output).toBe(23);
  });

  it("passes data through expressions in `with` (implicit dependencies)", async () => {
    const rt = await runtime();
    const flow = workflow("exprs", {
      inputs: { n: { type: "number", default: 4 } },
      output: "${{ tasks.say.output }}",
    })
      .task("make", { action: "noop", with: { value: "${{ inputs.n * 2 }}" } })
      .task("say", { action: "echo", with: { message: "value is ${{ tasks.make.output.value }}" } });
    const execution = await rt.run(flow, { n: 5 });
    expect(execution.output).toBe("value is 10");
  });

  it("retries with backoff until an attempt succeeds, and fails when attempts run out", async () => {
    const rt = await runtime();
    const flaky = (until: number, attempts: number) =>
      workflow("flaky").task("t", {
        action: "fail",
        with: { untilAttempt: until },
        retry: { attempts, backoff: "10ms" },
      });
    const ok = await rt.run(flaky(3, 3));
    expect(ok.status).toBe("succeeded");
    const runs = await rt.store.listRuns(ok.id);
    expect(runs.find((r) => r.task === "t")).toMatchObject({
      status: "succeeded",
      attempt: 3,
      output: { attempt: 3 },
    });
    const events = await rt.store.listEvents(ok.id);
    expect(eventIds(events, "task:retrying", "t")).toHaveLength(2);

    const bad = await rt.run(flaky(3, 2));
    expect(bad.status).toBe("failed");
    expect((await rt.store.listRuns(bad.id)).find((r) => r.task === "t")).toMatchObject({
      status: "failed",
      attempt: 2,
    });
    expect(bad.error).toMatchObject({ task: "t" });
  });

  it("waits runAfter between attempts (backoff grows by factor)", async () => {
    const rt = await runtime();
    const flow = workflow("backoff").task("t", {
      action: "fail",
      with: { untilAttempt: 3 },
      retry: { attempts: 3, backoff: "60ms", factor: 2 },
    });
    const execution = await rt.run(flow);
    const started = (await rt.store.listEvents(execution.id))
      .filter((e) => e.type === "task:started")
      .map((e) => e.at);
    expect(started).toHaveLength(3);
    // Equal jitter: each delay is at least half the nominal one (60 ms, then 120 ms).
    expect(started[1]! - started[0]!).toBeGreaterThanOrEqual(30);
    expect(started[2]! - started[1]!).toBeGreaterThanOrEqual(60);
  });

  it("stops retrying on an error marked retryable: false", async () => {
    const rt = await runtime();
    const flow = workflow("final").task("t", {
      action: "fail",
      with: { message: "card declined", retryable: false },
      retry: { attempts: 5, backoff: "1ms" },
    });
    const execution = await rt.run(flow);
    expect(execution.status).toBe("failed");
    const run = (await rt.store.listRuns(execution.id)).find((r) => r.task === "t")!;
    expect(run.attempt).toBe(1);
    expect(run.error).toMatchObject({ message: "card declined", retryable: false });
  });

  it("times out an attempt: the signal fires, and a body that ignores it is abandoned", async () => {
    const rt = await runtime();
    let aborted = 0;
    let lateResults = 0;
    const flow = workflow("slow")
      .task("polite", { action: "sleep", with: { duration: "5s" }, timeout: "50ms" })
      .task("stubborn", { timeout: "50ms", retry: { attempts: 2, backoff: "1ms" } }, async (_deps, ctx) => {
        ctx.signal.addEventListener("abort", () => (aborted += 1));
        await new Promise((resolve) => setTimeout(resolve, 200));
        lateResults += 1;
        return "too late";
      });
    const started = Date.now();
    const execution = await rt.run(flow);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(execution.status).toBe("failed");
    const runs = await rt.store.listRuns(execution.id);
    expect(runs.find((r) => r.task === "polite")!.error).toMatchObject({ type: "TimeoutError" });
    const stubborn = runs.find((r) => r.task === "stubborn")!;
    expect(stubborn).toMatchObject({ status: "failed", attempt: 2, output: null });
    expect(stubborn.error).toMatchObject({ type: "TimeoutError" });
    expect(aborted).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(lateResults).toBe(2);
    // The late results changed nothing.
    expect((await rt.store.listRuns(execution.id)).find((r) => r.task === "stubborn")).toMatchObject({
      status: "failed",
      output: null,
    });
  });

  it("skips a task whose `when` is false, and the skip propagates under all_success", async () => {
    const rt = await runtime();
    const flow = workflow("cond", { inputs: { go: { type: "boolean", default: false } } })
      .task("gate", { action: "noop", when: "${{ inputs.go }}" })
      .task("next", { action: "noop", after: "gate" })
      .task("always", { action: "noop", after: "next", trigger: "all_done" });
    const skipped = await rt.run(flow);
    expect(skipped.status).toBe("succeeded");
    expect(statuses(await rt.store.listRuns(skipped.id))).toEqual({
      gate: "skipped",
      next: "skipped",
      always: "succeeded",
    });
    const ran = await rt.run(flow, { go: true });
    expect(statuses(await rt.store.listRuns(ran.id))).toEqual({
      gate: "succeeded",
      next: "succeeded",
      always: "succeeded",
    });
  });

  it("runs any_failed handlers and all_done tasks after a failure, then fails the execution", async () => {
    const rt = await runtime();
    const flow = workflow("handlers")
      .task("boom", { action: "fail", with: { message: "boom" } })
      .task("after_ok", { action: "noop", after: "boom" })
      .task("on_failure", { action: "noop", after: "boom", trigger: "any_failed" })
      .task("cleanup", { action: "noop", after: "boom", trigger: "all_done" })
      .task("independent", { action: "noop" });
    const execution = await rt.run(flow);
    expect(execution.status).toBe("failed");
    expect(execution.error).toMatchObject({ task: "boom", message: 'task "boom" failed: boom' });
    expect(statuses(await rt.store.listRuns(execution.id))).toEqual({
      boom: "failed",
      after_ok: "skipped",
      on_failure: "succeeded",
      cleanup: "succeeded",
      independent: "succeeded",
    });
  });

  it("skips any_failed handlers when nothing failed", async () => {
    const rt = await runtime();
    const flow = workflow("no-failure")
      .task("ok", { action: "noop" })
      .task("on_failure", { action: "noop", after: "ok", trigger: "any_failed" });
    const execution = await rt.run(flow);
    expect(execution.status).toBe("succeeded");
    expect(statuses(await rt.store.listRuns(execution.id))).toEqual({
      ok: "succeeded",
      on_failure: "skipped",
    });
  });

  it("lets the execution succeed when a task with allowFailure fails", async () => {
    const rt = await runtime();
    const flow = workflow("tolerant")
      .task("optional", { action: "fail", allowFailure: true })
      .task("next", { action: "echo", after: "optional", with: { message: "${{ tasks.optional.status }}" } });
    const execution = await rt.run(flow);
    expect(execution.status).toBe("succeeded");
    const runs = await rt.store.listRuns(execution.id);
    expect(statuses(runs)).toEqual({ optional: "failed", next: "succeeded" });
    expect(runs.find((r) => r.task === "next")!.output).toBe("failed");
  });

  it("runs undos of succeeded tasks in reverse dependency order after a failure", async () => {
    const rt = await runtime();
    const undo = { action: "noop" as const };
    const flow = workflow("saga")
      .task("a", { action: "noop", undo })
      .task("b", { action: "noop", after: "a", undo })
      .task("c", { action: "noop", after: "a", undo })
      .task("no_undo", { action: "noop", after: ["b", "c"] })
      .task("d", { action: "fail", after: "no_undo", undo });
    const execution = await rt.run(flow);
    expect(execution.status).toBe("failed");
    const events = await rt.store.listEvents(execution.id);
    const ended = (task: string) => eventIds(events, "task:succeeded", task, "undo")[0]!;
    const started = (task: string) => eventIds(events, "task:started", task, "undo")[0]!;
    // d failed: nothing to undo. a's undo starts only after b's and c's ended.
    expect(eventIds(events, "task:started", "d", "undo")).toEqual([]);
    expect(eventIds(events, "task:started", "no_undo", "undo")).toEqual([]);
    expect(started("a")).toBeGreaterThan(ended("b"));
    expect(started("a")).toBeGreaterThan(ended("c"));
    const compensating = events.findIndex((e) => e.type === "execution:compensating");
    const failed = events.findIndex((e) => e.type === "execution:failed");
    expect(compensating).toBeGreaterThan(-1);
    expect(failed).toBeGreaterThan(compensating);
  });

  it("fails the whole execution at the workflow timeout, even while a task runs, and runs its undos", async () => {
    const rt = await runtime();
    const flow = workflow("deadline", { timeout: "150ms" })
      .task("first", { action: "noop", undo: { action: "noop" } })
      .task("long", { action: "sleep", after: "first", with: { duration: "10s" } });
    const started = Date.now();
    const execution = await rt.run(flow);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(execution.status).toBe("failed");
    expect(execution.error).toMatchObject({ type: "Timeout" });
    const runs = await rt.store.listRuns(execution.id);
    expect(statuses(runs)).toEqual({ first: "succeeded", long: "cancelled" });
    expect(runs.find((r) => r.kind === "undo" && r.task === "first")!.status).toBe("succeeded");
  });

  it("finishes a delegate task when an operator completes it from outside", async () => {
    const store = new MemoryStore();
    const rt = await createRuntime({ store, pollMs: 20 });
    const flow = workflow("approval", { output: "${{ tasks.approve.output }}" })
      .task("approve", { action: "delegate", timeout: "10s" })
      .task("after", {
        action: "echo",
        after: "approve",
        with: { message: "approved by ${{ tasks.approve.output.by }}" },
      });
    let id = "";
    const running = rt.run(flow, {}, { onStarted: (e) => (id = e.id) });
    let waiting = false;
    for (let i = 0; i < 100 && !waiting; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      waiting =
        id !== "" && (await store.listRuns(id)).some((r) => r.task === "approve" && r.status === "waiting");
    }
    expect(waiting).toBe(true);
    const result = await rt.engine.settleWaiting(id, "approve", {
      status: "succeeded",
      output: { by: "ada" },
    });
    expect(result?.applied).toBe(1);
    const execution = await running;
    expect(execution.status).toBe("succeeded");
    expect(execution.output).toEqual({ by: "ada" });
  });

  it("fails a delegate whose deadline passes without a callback", async () => {
    const rt = await runtime();
    const flow = workflow("late").task("approve", { action: "delegate", timeout: "50ms" });
    const execution = await rt.run(flow);
    expect(execution.status).toBe("failed");
    expect((await rt.store.listRuns(execution.id))[0]!.error).toMatchObject({ type: "TimeoutError" });
  });

  it("cancels an execution with undo: open runs are cancelled and succeeded tasks undone", async () => {
    const rt = await runtime();
    const flow = workflow("cancel-me")
      .task("done", { action: "noop", undo: { action: "noop" } })
      .task("wait", { action: "delegate", after: "done" });
    let id = "";
    const running = rt.run(flow, {}, { onStarted: (e) => (id = e.id) });
    for (let i = 0; i < 100; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      if (id && (await rt.store.listRuns(id)).some((r) => r.task === "wait" && r.status === "waiting")) break;
    }
    await rt.engine.cancel(id, { undo: true });
    const execution = await running;
    expect(execution.status).toBe("cancelled");
    const runs = await rt.store.listRuns(id);
    expect(statuses(runs)).toEqual({ done: "succeeded", wait: "cancelled" });
    expect(runs.find((r) => r.kind === "undo" && r.task === "done")!.status).toBe("succeeded");
  });

  it("refuses input that does not match the declared inputs", async () => {
    const rt = await runtime();
    const flow = workflow("typed", { inputs: { n: { type: "number" } } }).task("t", { action: "noop" });
    await expect(rt.run(flow, {})).rejects.toThrow('Missing required input "n"');
    await expect(rt.run(flow, { n: "x" })).rejects.toThrow(
      'Input "n" must be of type number, got string "x".',
    );
    await expect(rt.run(flow, { n: 1, m: 2 })).rejects.toThrow('Unknown input "m"');
  });
  it("retries a failed task by hand: its skipped successors and the execution run again", async () => {
    const rt = await runtime();
    const flow = workflow("manual-retry", { output: "${{ tasks.after.output }}" })
      .task("flaky", { action: "fail", with: { untilAttempt: 2 } })
      .task("after", { action: "echo", after: "flaky", with: { message: "done" } });
    const failed = await rt.run(flow);
    expect(failed.status).toBe("failed");
    expect(statuses(await rt.store.listRuns(failed.id))).toEqual({ flaky: "failed", after: "skipped" });
    await rt.engine.retryTask(failed.id, "flaky");
    const resumed = await rt.resume(failed.id);
    expect(resumed).toMatchObject({ status: "succeeded", output: "done", error: null, failures: 0 });
    expect(statuses(await rt.store.listRuns(failed.id))).toEqual({ flaky: "succeeded", after: "succeeded" });
    await expect(rt.engine.retryTask(failed.id, "flaky")).rejects.toThrow(
      "only a failed or running execution",
    );
  });
});
