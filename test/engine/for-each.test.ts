/**
 * forEach through the sync runner with real task bodies on a real MemoryStore and SQLite file:
 * `item` and `index` in expressions, builder functions, retries and timeouts of instances, the
 * clear error of a list that is not one, `when`, and the one-line status of 10,000 instances' task.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { workflow } from "../../src/definition/builder.js";
import type { ExecutionEvent, Store } from "../../src/engine/store.js";
import { executionReport, formatReport } from "../../src/runtime/report.js";
import { createRuntime } from "../../src/runtime/runtime.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { SqliteStore } from "../../src/stores/sqlite/sqlite-store.js";

const stores: [string, () => Store][] = [
  ["memory", () => new MemoryStore()],
  ["sqlite", () => SqliteStore.open(join(mkdtempSync(join(tmpdir(), "weft-foreach-")), "weft.db"))],
];

/** The most instances of `task` running at once in a history. */
function mostRunningAtOnce(events: readonly ExecutionEvent[], task: string): number {
  let running = 0;
  let most = 0;
  for (const event of events) {
    if (event.kind !== "instance" || !event.task?.startsWith(`${task}[`)) continue;
    if (event.type === "task:started") most = Math.max(most, ++running);
    else if (["task:succeeded", "task:failed", "task:retrying"].includes(event.type)) running -= 1;
  }
  return most;
}

describe.each(stores)("forEach through the sync runner (%s)", (_name, open) => {
  it("evaluates with per instance with item and index; successors read the outputs in order", async () => {
    const rt = await createRuntime({ store: open(), concurrency: 8, pollMs: 20 });
    const flow = workflow("fan", { output: "${{ tasks.total.output }}" })
      .task("list", { action: "echo", with: { message: ["a", "b", "c", "d", "e"] } })
      .task("each", {
        action: "echo",
        forEach: "${{ tasks.list.output }}",
        maxParallel: 2,
        with: { message: "${{ index }}:${{ item }}" },
      })
      .task("total", { action: "echo", with: { message: "${{ $join(tasks.each.output, ',') }}" } });
    const execution = await rt.run(flow);
    expect(execution).toMatchObject({ status: "succeeded", output: "0:a,1:b,2:c,3:d,4:e" });
    expect(mostRunningAtOnce(await rt.store.listEvents(execution.id), "each")).toBeLessThanOrEqual(2);
    await rt.close();
  });

  it("hands item and index to builder functions", async () => {
    const rt = await createRuntime({ store: open(), concurrency: 4, pollMs: 20 });
    const flow = workflow("squares", { output: "${{ tasks.square.output }}" })
      .task("list", {}, () => [3, 4, 5])
      .task("square", { after: "list", forEach: "${{ tasks.list.output }}" }, ({ list }, ctx) => ({
        at: ctx.index,
        square: (ctx.item as number) ** 2,
        of: list.length,
      }));
    const execution = await rt.run(flow);
    expect(execution.output).toEqual([
      { at: 0, square: 9, of: 3 },
      { at: 1, square: 16, of: 3 },
      { at: 2, square: 25, of: 3 },
    ]);
    await rt.close();
  });

  it("retries a failing instance, then fails the task with its error once every instance ended", async () => {
    const rt = await createRuntime({ store: open(), concurrency: 4, pollMs: 20 });
    const flow = workflow("flaky")
      .task("each", {
        action: "fail",
        forEach: "${{ [1, 2, 3, 1] }}",
        maxParallel: 1,
        retry: { attempts: 2, backoff: 0 },
        // Item N fails every attempt before N: 1 succeeds, 2 after a retry, 3 never.
        with: { untilAttempt: "${{ item }}", message: "item ${{ index }} broke" },
      })
      .task("after", { action: "noop", after: "each" });
    const execution = await rt.run(flow);
    expect(execution).toMatchObject({
      status: "failed",
      error: { task: "each", message: 'task "each" failed: each[2]: item 2 broke' },
    });
    const runs = await rt.store.listRuns(execution.id);
    const instances = runs.filter((run) => run.kind === "instance");
    expect(instances.map((run) => [run.task, run.status, run.attempt])).toEqual([
      ["each[0]", "succeeded", 1],
      ["each[1]", "succeeded", 2],
      ["each[2]", "failed", 2],
      ["each[3]", "succeeded", 1],
    ]);
    expect(runs.find((run) => run.task === "after")?.status).toBe("skipped");
    const report = formatReport(executionReport(execution, runs));
    // One line for the task with its instances counted, none per instance.
    expect(report).toContain("\n  FAIL each [instances: 3 succeeded, 1 failed]: each[2]: item 2 broke\n");
    expect(report).not.toContain("each[0]");
    await rt.close();
  });

  it("runs a failed forEach task again, expanded anew, when an operator retries it", async () => {
    const rt = await createRuntime({ store: open(), concurrency: 4, pollMs: 20 });
    let failures = 0;
    const flow = workflow("retried", { output: "${{ tasks.each.output }}" }).task(
      "each",
      { forEach: "${{ ['a', 'b'] }}" },
      (_deps, ctx) => {
        if (ctx.index === 1 && failures++ === 0) throw new Error("b failed once");
        return ctx.item;
      },
    );
    const failed = await rt.run(flow);
    expect(failed).toMatchObject({
      status: "failed",
      error: { message: 'task "each" failed: each[1]: b failed once' },
    });
    await rt.engine.retryTask(failed.id, "each");
    const execution = await rt.resume(failed.id, { functions: flow.functions });
    expect(execution).toMatchObject({ status: "succeeded", output: ["a", "b"] });
    const report = executionReport(execution, await rt.store.listRuns(execution.id));
    expect(report.tasks.each).toMatchObject({ status: "succeeded", instances: { succeeded: 2 } });
    await rt.close();
  });

  it("times an instance out like a task", async () => {
    const rt = await createRuntime({ store: open(), concurrency: 4, pollMs: 20 });
    const flow = workflow("slow").task("each", {
      action: "sleep",
      forEach: "${{ [1] }}",
      timeout: "50ms",
      with: { duration: "1h" },
    });
    const execution = await rt.run(flow);
    expect(execution.status).toBe("failed");
    const runs = await rt.store.listRuns(execution.id);
    expect(runs.find((run) => run.task === "each[0]")?.error).toMatchObject({ type: "TimeoutError" });
    await rt.close();
  });

  it("fails a task whose forEach is not a list, for good, saying what it got", async () => {
    const rt = await createRuntime({ store: open(), concurrency: 4, pollMs: 20 });
    const flow = workflow("not-a-list").task("each", {
      action: "echo",
      forEach: "${{ { 'a': 1 } }}",
      retry: { attempts: 3, backoff: 0 },
    });
    const execution = await rt.run(flow);
    const runs = await rt.store.listRuns(execution.id);
    expect(runs.find((run) => run.task === "each")).toMatchObject({
      status: "failed",
      attempt: 1,
      error: {
        type: "ForEachNotAList",
        message: expect.stringContaining('yielded {"a":1}, expected a list'),
      },
    });
    expect(runs.some((run) => run.kind === "instance")).toBe(false);
    await rt.close();
  });

  it("skips the whole task when its when is false, before evaluating the list", async () => {
    const rt = await createRuntime({ store: open(), concurrency: 4, pollMs: 20 });
    const flow = workflow("skipped").task("each", {
      action: "echo",
      when: "${{ false }}",
      forEach: "${{ $error('never evaluated') }}",
    });
    const execution = await rt.run(flow);
    expect(execution.status).toBe("succeeded");
    const runs = await rt.store.listRuns(execution.id);
    expect(runs.map((run) => [run.task, run.status])).toContainEqual(["each", "skipped"]);
    await rt.close();
  });

  it("undoes every instance that succeeded, last item first, each with its own item and output", async () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-foreach-undo-"));
    const log = join(dir, "log");
    const rt = await createRuntime({ store: open(), concurrency: 4, pollMs: 20 });
    const flow = workflow("made", {})
      .task("make", {
        action: "shell",
        forEach: "${{ ['a', 'b', 'c'] }}",
        maxParallel: 1,
        with: { command: "echo make ${{ item }} >> '" + log + "' && echo made-${{ item }}" },
        undo: {
          action: "shell",
          with: {
            command: "echo undo ${{ index }}:${{ item }}:${{ tasks.make.output.stdout }} >> '" + log + "'",
          },
        },
      })
      .task("boom", { action: "fail", after: "make", with: { message: "no" } });
    const execution = await rt.run(flow);
    expect(execution.status).toBe("failed");
    expect(readFileSync(log, "utf8").trim().split("\n")).toEqual([
      "make a",
      "make b",
      "make c",
      "undo 2:c:made-c",
      "undo 1:b:made-b",
      "undo 0:a:made-a",
    ]);
    await rt.close();
  });
});
