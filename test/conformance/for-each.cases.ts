/**
 * forEach through the engine on every adapter: the expansion of a task's list into instance runs,
 * their `item`, the `maxParallel` chain, the end of the task with its instances' outputs in order,
 * failures (after the instance's retries), cancelling, and a fan-out of 10,000.
 */
import { describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine/engine.js";
import { EventType, type ExecutionEvent, type TaskRunRecord } from "../../src/engine/store.js";
import { drive, failure, ref, runOf, workflowSpec, type Decision, type TaskShape } from "./fixtures.js";
import type { SuiteContext } from "./store.suite.js";

/** list -> each (forEach) -> after */
function fanSpec(each: TaskShape = {}) {
  return workflowSpec("fan", {
    list: {},
    each: { after: ["list"], forEach: "${{ tasks.list.output }}", ...each },
    after: { after: ["each"] },
  });
}

/** Expands `each` into `items`, doubles each instance's item, and succeeds the rest. */
function expandInto(items: unknown[], instance?: (run: TaskRunRecord) => Decision | undefined) {
  return (run: TaskRunRecord): Decision => {
    if (run.kind === "task" && run.task === "each") return { status: "expanded", items };
    if (run.kind === "instance")
      return instance?.(run) ?? { status: "succeeded", output: (run.item as number) * 2 };
    return { status: "succeeded", output: null };
  };
}

/** The most instances of `task` ever running at once, read from the history (started .. ended). */
function mostRunningAtOnce(events: readonly ExecutionEvent[], task: string): number {
  const ends = new Set<string>([EventType.taskSucceeded, EventType.taskFailed, EventType.taskRetrying]);
  let running = 0;
  let most = 0;
  for (const event of events) {
    if (event.kind !== "instance" || !event.task?.startsWith(`${task}[`)) continue;
    if (event.type === EventType.taskStarted) most = Math.max(most, ++running);
    else if (ends.has(event.type)) running -= 1;
  }
  return most;
}

export function forEachCases(ctx: SuiteContext): void {
  describe("forEach", () => {
    it("ends a task whose list is empty at once with [], and its successor runs", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(fanSpec(), {});
      const order = await drive(engine, execution.id, expandInto([]));
      expect(order.map((run) => run.task)).toEqual(["list", "each", "after"]);
      const runs = await ctx.store.listRuns(execution.id);
      expect(runOf(runs, "each")).toMatchObject({ status: "succeeded", output: [] });
      expect(runs.some((run) => run.kind === "instance")).toBe(false);
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({ status: "succeeded" });
    });

    it("creates one instance per item holding its item, and ends the task with their outputs", async () => {
      const engine = ctx.engine();
      const spec = fanSpec({ retry: { attempts: 3 }, timeout: 750 });
      const { execution } = await engine.start(spec, {});
      const items = [{ id: "a", n: [1, 2] }, null];
      await drive(
        engine,
        execution.id,
        expandInto(items, (run) => ({ status: "succeeded", output: run.item })),
      );
      const runs = await ctx.store.listRuns(execution.id);
      const parent = runOf(runs, "each");
      const instances = runs.filter((run) => run.kind === "instance");
      expect(instances.map((run) => run.task)).toEqual(["each[0]", "each[1]"]);
      expect(instances.map((run) => run.item)).toEqual(items);
      expect(instances[0]).toMatchObject({
        status: "succeeded",
        successors: [parent.seq],
        maxAttempts: 3,
        timeout: 750,
        rule: "all_done",
      });
      expect(new Set(runs.map((run) => run.seq)).size).toBe(runs.length);
      expect(parent).toMatchObject({ status: "succeeded", output: items });
      expect(runOf(runs, "after").status).toBe("succeeded");
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({ status: "succeeded" });
      const events = await ctx.store.listEvents(execution.id);
      expect(events.find((event) => event.type === EventType.taskExpanded)).toMatchObject({
        task: "each",
        data: { instances: 2, maxParallel: null },
      });
    });

    it("runs at most maxParallel instances at once and keeps the outputs in item order", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(fanSpec({ maxParallel: 3 }), {});
      const items = Array.from({ length: 10 }, (_, i) => i);
      await drive(engine, execution.id, expandInto(items));
      const runs = await ctx.store.listRuns(execution.id);
      expect(runOf(runs, "each")).toMatchObject({ status: "succeeded", output: items.map((i) => i * 2) });
      const events = await ctx.store.listEvents(execution.id);
      expect(mostRunningAtOnce(events, "each")).toBe(3);
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({ status: "succeeded" });
    });

    it("fails the task with an instance's error once its retries ran out, after every instance ended", async () => {
      const engine = ctx.engine();
      const spec = fanSpec({ maxParallel: 2, retry: { attempts: 2, backoff: 0 } });
      const { execution } = await engine.start(spec, {});
      const decide = expandInto([0, 1, 2, 3], (run) =>
        run.task === "each[1]"
          ? { status: "failed", error: failure(`bad item ${String(run.item)}`, true) }
          : undefined,
      );
      const order = await drive(engine, execution.id, decide);
      expect(order.filter((run) => run.task === "each[1]").map((run) => run.attempt)).toEqual([1, 2]);
      const runs = await ctx.store.listRuns(execution.id);
      expect(runs.filter((run) => run.kind === "instance").map((run) => run.status)).toEqual([
        "succeeded",
        "failed",
        "succeeded",
        "succeeded",
      ]);
      expect(runOf(runs, "each")).toMatchObject({
        status: "failed",
        output: null,
        error: { type: "TestFailure", message: "each[1]: bad item 1" },
      });
      expect(runOf(runs, "after").status).toBe("skipped");
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({
        status: "failed",
        failures: 1,
        error: { task: "each", message: 'task "each" failed: each[1]: bad item 1' },
      });
      const events = await ctx.store.listEvents(execution.id);
      expect(events.filter((event) => event.type === EventType.taskRetrying).map((e) => e.task)).toEqual([
        "each[1]",
      ]);
    });

    it("ignores a second report of the same expansion", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(fanSpec(), {});
      const claimed = await claimTask(engine, execution.id, "each", ctx);
      const outcome = { run: ref(claimed), status: "expanded" as const, items: [1, 2] };
      expect((await engine.settle([outcome, outcome])).appliedOutcomes).toEqual([true, false]);
      expect((await engine.settle([outcome])).applied).toBe(0);
      const runs = await ctx.store.listRuns(execution.id);
      expect(runs.filter((run) => run.kind === "instance")).toHaveLength(2);
      expect(runOf(runs, "each")).toMatchObject({ status: "expanded", pending: 2 });
    });

    it("cancels an expanded task with its instances", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(fanSpec({ maxParallel: 1 }), {});
      const claimed = await claimTask(engine, execution.id, "each", ctx);
      await engine.settle([{ run: ref(claimed), status: "expanded", items: [1, 2, 3] }]);
      await engine.cancel(execution.id);
      const runs = await ctx.store.listRuns(execution.id);
      expect(runOf(runs, "each").status).toBe("cancelled");
      expect(runs.filter((run) => run.kind === "instance").map((run) => run.status)).toEqual([
        "cancelled",
        "cancelled",
        "cancelled",
      ]);
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({ status: "cancelled" });
    });

    it("cancels an expanded task's waiting instances when an update supersedes it; the new traversal expands anew", async () => {
      const engine = ctx.engine();
      const spec = fanSpec({ maxParallel: 1 });
      const { execution } = await engine.start(spec, {});
      const claimed = await claimTask(engine, execution.id, "each", ctx);
      const step = await engine.settle([{ run: ref(claimed), status: "expanded", items: [1, 2, 3] }], {
        owner: "driver",
        limit: 1,
        executionId: execution.id,
      });
      const first = step.claimed[0]!;
      expect(first.task).toBe("each[0]");
      await engine.update(execution.id, spec);
      // The old instance still running ends, and drives nothing in the new traversal.
      await engine.settle([{ run: ref(first), status: "succeeded", output: "late" }]);
      await drive(engine, execution.id, expandInto([5, 6]));
      const runs = await ctx.store.listRuns(execution.id);
      const old = runs.filter((run) => run.traversal === execution.traversal);
      expect(old.filter((run) => run.kind === "instance").map((run) => run.status)).toEqual([
        "succeeded",
        "cancelled",
        "cancelled",
      ]);
      expect(old.find((run) => run.task === "each")?.status).toBe("cancelled");
      const current = await ctx.store.getExecution(execution.id);
      expect(current).toMatchObject({ status: "succeeded" });
      const now = runs.filter((run) => run.traversal === current!.traversal);
      expect(now.find((run) => run.task === "each")).toMatchObject({ status: "succeeded", output: [10, 12] });
    });

    it("expands a task superseded while its list was evaluated into nothing, and releases its new run", async () => {
      const engine = ctx.engine();
      const spec = fanSpec();
      const { execution } = await engine.start(spec, {});
      const claimed = await claimTask(engine, execution.id, "each", ctx);
      await engine.update(execution.id, spec);
      const late = await engine.settle([{ run: ref(claimed), status: "expanded", items: [1, 2] }]);
      expect(late.applied).toBe(1);
      await drive(engine, execution.id, expandInto([7]));
      const runs = await ctx.store.listRuns(execution.id);
      const old = runs.filter((run) => run.traversal === execution.traversal);
      expect(old.find((run) => run.task === "each")?.status).toBe("cancelled");
      expect(old.some((run) => run.kind === "instance")).toBe(false);
      const current = await ctx.store.getExecution(execution.id);
      expect(current).toMatchObject({ status: "succeeded" });
      const now = runs.filter((run) => run.traversal === current!.traversal);
      expect(now.find((run) => run.task === "each")).toMatchObject({ status: "succeeded", output: [14] });
    });

    it("fans out to 10,000 instances, at most maxParallel running, outputs in order", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(fanSpec({ maxParallel: 250 }), {});
      const items = Array.from({ length: 10_000 }, (_, i) => i);
      await drive(engine, execution.id, expandInto(items), 500);
      const runs = await ctx.store.listRuns(execution.id);
      expect(runs.filter((run) => run.kind === "instance")).toHaveLength(10_000);
      const parent = runOf(runs, "each");
      expect(parent.status).toBe("succeeded");
      expect(parent.output).toEqual(items.map((i) => i * 2));
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({ status: "succeeded" });
      expect(mostRunningAtOnce(await ctx.store.listEvents(execution.id), "each")).toBe(250);
    }, 120_000);
  });
}

/** Drives `list` to success and claims `task`, the forEach task, for the test to report on. */
async function claimTask(
  engine: Engine,
  executionId: string,
  task: string,
  ctx: SuiteContext,
): Promise<TaskRunRecord> {
  const [list] = await engine.claim({ owner: "driver", limit: 1, executionId });
  const step = await engine.settle([{ run: ref(list!), status: "succeeded", output: [1] }], {
    owner: "driver",
    limit: 1,
    executionId,
  });
  const claimed = step.claimed[0]!;
  expect(claimed.task).toBe(task);
  expect(await ctx.store.getRuns(executionId, [claimed.seq])).toHaveLength(1);
  return claimed;
}
