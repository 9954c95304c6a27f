/** Records: executions, task runs and events are written and read back as they were given. */
import { describe, expect, it } from "vitest";
import { EventType, type ExecutionEvent } from "../../src/engine/store.js";
import { diamond, runOf, workflowSpec } from "./fixtures.js";
import type { SuiteContext } from "./store.suite.js";

export function recordCases(ctx: SuiteContext): void {
  describe("records", () => {
    it("creates an execution with its task runs and reads them back", async () => {
      const spec = diamond({ a: { with: { greeting: "hello", n: [1, { deep: true }] }, timeout: 500 } });
      const { execution, ready } = await ctx.engine().start(spec, {}, { id: "exec-1", baseDir: "/flows" });
      expect(await ctx.store.getExecution("exec-1")).toEqual(execution);
      expect(execution).toMatchObject({
        status: "running",
        workflow: "diamond",
        version: null,
        baseDir: "/flows",
      });
      expect(await ctx.store.getExecution("missing")).toBeUndefined();

      const runs = await ctx.store.listRuns("exec-1");
      expect(runs.map((run) => run.seq).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4]);
      const [a, b, c, d, end] = [
        runOf(runs, "a"),
        runOf(runs, "b"),
        runOf(runs, "c"),
        runOf(runs, "d"),
        runOf(runs, "$end", "end"),
      ];
      expect(ready).toEqual([a]);
      expect(a).toMatchObject({
        status: "ready",
        pending: 0,
        attempt: 0,
        timeout: 500,
        runAfter: ctx.clock.t,
      });
      expect([b.pending, c.pending, d.pending, end.pending]).toEqual([1, 1, 2, 1]);
      expect([b.status, c.status, d.status, end.status]).toEqual([
        "blocked",
        "blocked",
        "blocked",
        "blocked",
      ]);
      expect(a.successors.sort()).toEqual([b.seq, c.seq].sort());
      expect(d.successors).toEqual([end.seq]);
      expect(a).toMatchObject({
        leaseOwner: null,
        leaseExpiresAt: null,
        output: null,
        error: null,
        tokenHash: null,
      });
      expect(b).toMatchObject({ rule: "all_success", allowFailure: false, maxAttempts: 1, kind: "task" });

      expect(await ctx.store.getRuns("exec-1", [d.seq, a.seq, 99])).toEqual([d, a]);
      expect(await ctx.store.listRuns("missing")).toEqual([]);
      expect(await ctx.store.transaction(async (tx) => tx.getRun("exec-1", b.seq))).toEqual(b);
      expect(await ctx.store.transaction(async (tx) => tx.getRun("exec-1", 99))).toBeUndefined();
    });

    it("keeps the execution's input, spec and deadline", async () => {
      const spec = workflowSpec(
        "with-inputs",
        { only: { action: "echo", with: { message: "${{ inputs.who }}" } } },
        { inputs: { who: { type: "string", required: true } }, timeout: 60_000, version: 3 },
      );
      const { execution } = await ctx.engine().start(spec, { who: "Ada" });
      const stored = await ctx.store.getExecution(execution.id);
      expect(stored).toMatchObject({ input: { who: "Ada" }, version: 3, deadline: ctx.clock.t + 60_000 });
      expect(stored?.spec).toEqual(spec);
      // A second read answers the same values (adapters may cache what never changes).
      expect(await ctx.store.getExecution(execution.id)).toEqual(stored);
      expect(await ctx.store.transaction(async (tx) => tx.getExecution(execution.id))).toEqual(stored);
    });

    it("lists executions newest first, filtered and paginated with `before`", async () => {
      const engine = ctx.engine();
      const flow = workflowSpec("flow", { t: {} });
      await engine.start(flow, {}, { id: "e-1" });
      ctx.clock.advance(1);
      await engine.start(flow, {}, { id: "e-2" });
      await engine.start(flow, {}, { id: "e-3" }); // same createdAt as e-2: ids break the tie
      ctx.clock.advance(1);
      await engine.start(workflowSpec("other", {}), {}, { id: "e-4" }); // no task: succeeds at once

      const all = await ctx.store.listExecutions();
      expect(all.map((e) => e.id)).toEqual(["e-4", "e-3", "e-2", "e-1"]);
      expect(all[0]).toEqual(await ctx.store.getExecution("e-4"));
      expect((await ctx.store.listExecutions({ workflow: "flow" })).map((e) => e.id)).toEqual([
        "e-3",
        "e-2",
        "e-1",
      ]);
      expect((await ctx.store.listExecutions({ status: "succeeded" })).map((e) => e.id)).toEqual(["e-4"]);
      expect((await ctx.store.listExecutions({ status: "running", workflow: "other" })).length).toBe(0);
      expect((await ctx.store.listExecutions({ limit: 2 })).map((e) => e.id)).toEqual(["e-4", "e-3"]);

      const pages: string[][] = [];
      let before: { createdAt: number; id: string } | undefined;
      for (;;) {
        const page = await ctx.store.listExecutions({ limit: 2, before });
        if (page.length === 0) break;
        pages.push(page.map((e) => e.id));
        const last = page[page.length - 1]!;
        before = { createdAt: last.createdAt, id: last.id };
      }
      expect(pages).toEqual([
        ["e-4", "e-3"],
        ["e-2", "e-1"],
      ]);
      expect(
        (
          await ctx.store.listExecutions({
            workflow: "flow",
            before: { createdAt: ctx.clock.t - 1, id: "e-3" },
          })
        ).map((e) => e.id),
      ).toEqual(["e-2", "e-1"]);
    });

    it("appends events and reads them back in order, after a given id", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(diamond(), {});
      const other = await engine.start(diamond(), {});
      const first = await ctx.store.listEvents(execution.id);
      expect(first.map((e) => [e.type, e.task])).toEqual([
        [EventType.executionCreated, undefined],
        [EventType.taskReady, "a"],
      ]);
      expect(first[0]).toMatchObject({ executionId: execution.id, at: ctx.clock.t, status: "running" });

      const full: ExecutionEvent = {
        executionId: execution.id,
        at: ctx.clock.t + 5,
        type: EventType.taskFailed,
        task: "a",
        kind: "task",
        attempt: 2,
        worker: "w-1",
        status: "failed",
        error: { type: "Boom", message: "it broke", retryable: false },
        data: { nested: [1, { x: null }], text: "é" },
      };
      await ctx.store.transaction(async (tx) => {
        await tx.appendEvents([
          full,
          { executionId: execution.id, at: ctx.clock.t + 6, type: EventType.taskStarted },
        ]);
      });
      const events = await ctx.store.listEvents(execution.id);
      expect(events).toHaveLength(4);
      expect(events[2]).toEqual({ ...full, id: events[2]!.id });
      const ids = events.map((e) => e.id!);
      expect([...ids].sort((x, y) => x - y)).toEqual(ids);
      expect(new Set(ids).size).toBe(ids.length);
      expect(await ctx.store.listEvents(execution.id, ids[1])).toEqual(events.slice(2));
      expect(await ctx.store.listEvents(execution.id, ids[3])).toEqual([]);
      expect(
        (await ctx.store.listEvents(other.execution.id)).every((e) => e.executionId === other.execution.id),
      ).toBe(true);
      expect(await ctx.store.listEvents("missing")).toEqual([]);
    });

    it("updates an execution by compare-and-set on its status and traversal", async () => {
      const { execution } = await ctx.engine().start(diamond(), {});
      const { id, traversal } = execution;
      await ctx.store.transaction(async (tx) => {
        expect(await tx.updateExecution(id, { status: ["succeeded"] }, { status: "failed" })).toBe(false);
        expect(
          await tx.updateExecution(id, { status: ["running"], traversal: "other" }, { status: "failed" }),
        ).toBe(false);
        expect(await tx.updateExecution("missing", { status: ["running"] }, { status: "failed" })).toBe(
          false,
        );
        const patch = {
          output: { answer: [42] },
          error: { type: "E", message: "m", task: "a" },
          failures: 2,
        };
        expect(await tx.updateExecution(id, { status: ["pending", "running"], traversal }, patch)).toBe(true);
      });
      const updated = await ctx.store.getExecution(id);
      // updatedAt changes only when the patch says so.
      expect(updated).toEqual({
        ...execution,
        output: { answer: [42] },
        error: { type: "E", message: "m", task: "a" },
        failures: 2,
      });
      await ctx.store.transaction(async (tx) => {
        const patch = { status: "compensating", endStatus: "cancelled", updatedAt: ctx.clock.t + 1 } as const;
        expect(await tx.updateExecution(id, { status: ["running"] }, patch)).toBe(true);
      });
      expect(await ctx.store.getExecution(id)).toMatchObject({
        status: "compensating",
        endStatus: "cancelled",
        updatedAt: ctx.clock.t + 1,
      });
    });

    it("counts failures atomically and keeps the first error", async () => {
      const { execution } = await ctx.engine().start(diamond(), {});
      await ctx.store.transaction(async (tx) => {
        await tx.recordFailure(execution.id, { type: "First", message: "one", task: "a" });
        await tx.recordFailure(execution.id, { type: "Second", message: "two" });
        await tx.recordFailure("missing", { type: "Nobody", message: "ignored" });
      });
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({
        failures: 2,
        error: { type: "First", message: "one", task: "a" },
      });
    });
  });
}
