/** Whole executions through the engine alone (no worker): success, failure with undo, cancel, timeout, retry. */
import { describe, expect, it } from "vitest";
import { EventType } from "../../src/engine/store.js";
import { diamond, drive, eventsOf, failure, ref, runOf, workflowSpec } from "./fixtures.js";
import type { SuiteContext } from "./store.suite.js";

const undo = { action: "echo", with: { message: "undo" } };

export function endToEndCases(ctx: SuiteContext): void {
  describe("end to end", () => {
    it("runs a diamond a->(b,c)->d to success", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(diamond(), {});
      const order = await drive(engine, execution.id);
      expect(order.map((run) => run.task)).toEqual(expect.arrayContaining(["a", "b", "c", "d"]));
      expect(order[0]!.task).toBe("a");
      expect(order[3]!.task).toBe("d");
      const ended = await ctx.store.getExecution(execution.id);
      expect(ended).toMatchObject({
        status: "succeeded",
        output: null,
        finishedAt: ctx.clock.t,
        failures: 0,
      });
      const runs = await ctx.store.listRuns(execution.id);
      expect(runs.every((run) => run.status === "succeeded")).toBe(true);
      expect(runOf(runs, "d").output).toEqual({ task: "d" });
      const events = await ctx.store.listEvents(execution.id);
      expect(events[events.length - 1]).toMatchObject({ type: EventType.executionSucceeded });
      expect(eventsOf(events, EventType.taskSucceeded)).toHaveLength(4);
      expect((await ctx.store.listExecutions({ status: "succeeded" })).map((e) => e.id)).toEqual([
        execution.id,
      ]);
      expect(await ctx.store.nextRunAfter()).toBeNull();
    });

    it("computes the workflow output in the end run, claimed like a task", async () => {
      const engine = ctx.engine();
      const spec = workflowSpec("with-output", { a: {} }, { output: "${{ tasks.a.output }}" });
      const { execution } = await engine.start(spec, {});
      const order = await drive(engine, execution.id, (run) =>
        run.kind === "end"
          ? { status: "succeeded", output: { total: 42 } }
          : { status: "succeeded", output: 1 },
      );
      expect(order.map((run) => run.kind)).toEqual(["task", "end"]);
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({
        status: "succeeded",
        output: { total: 42 },
      });
    });

    it("succeeds at once when the workflow has no task", async () => {
      const { execution } = await ctx.engine().start(workflowSpec("empty", {}), {});
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({ status: "succeeded" });
    });

    it("runs the undos in reverse dependency order after a failure, then fails", async () => {
      const engine = ctx.engine();
      const spec = diamond({ a: { undo }, b: { undo }, c: {}, d: { undo } });
      const { execution } = await engine.start(spec, {});
      const order = await drive(engine, execution.id, (run) =>
        run.task === "d" && run.kind === "task"
          ? { status: "failed", error: failure("d broke") }
          : { status: "succeeded", output: null },
      );
      // d failed (nothing to undo), c has no undo: only b's undo, then a's, run.
      const undos = order.filter((run) => run.kind === "undo").map((run) => run.task);
      expect(undos).toEqual(["b", "a"]);
      const ended = await ctx.store.getExecution(execution.id);
      expect(ended).toMatchObject({ status: "failed", failures: 1, endStatus: null, error: { task: "d" } });
      const events = await ctx.store.listEvents(execution.id);
      const types = events.map((event) => event.type);
      expect(types.indexOf(EventType.executionCompensating)).toBeLessThan(
        types.indexOf(EventType.executionFailed),
      );
      const runs = await ctx.store.listRuns(execution.id);
      expect(runOf(runs, "c", "undo").status).toBe("skipped");
      expect(runOf(runs, "d", "undo").status).toBe("skipped");
      expect(runOf(runs, "$undo_end", "undo_end").status).toBe("succeeded");
    });

    it("cancels without undo: open runs are cancelled and late results discarded", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(diamond({ a: { undo } }), {});
      const [a] = await engine.claim({ owner: "w", limit: 1 });
      const step = await engine.cancel(execution.id);
      expect(step.ended).toEqual([execution.id]);
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({
        status: "cancelled",
        error: { type: "Cancelled" },
      });
      const runs = await ctx.store.listRuns(execution.id);
      expect(runs.every((run) => run.status === "cancelled")).toBe(true);
      expect((await engine.complete(ref(a!), "late")).applied).toBe(0);
      expect(await engine.claim({ owner: "w", limit: 10 })).toEqual([]);
      expect((await engine.cancel(execution.id)).ended).toEqual([]); // already ended: nothing to do
    });

    it("cancels with undo: the undos of succeeded tasks run, then the execution is cancelled", async () => {
      const engine = ctx.engine();
      const { execution } = await engine.start(diamond({ a: { undo }, b: { undo } }), {});
      const [a] = await engine.claim({ owner: "w", limit: 1 });
      await engine.complete(ref(a!), null);
      const [b] = await engine.claim({ owner: "w", limit: 1, executionId: execution.id });
      await engine.cancel(execution.id, { undo: true });
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({
        status: "compensating",
        endStatus: "cancelled",
      });
      expect((await engine.complete(ref(b!), "late")).applied).toBe(0);
      const order = await drive(engine, execution.id);
      expect(order.map((run) => [run.task, run.kind])).toEqual([["a", "undo"]]);
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({ status: "cancelled" });
    });

    it("fails an execution whose workflow deadline passed, cancelling its open runs", async () => {
      const engine = ctx.engine({ leaseMs: 60_000 });
      const spec = workflowSpec("slow", { a: {}, b: { after: ["a"] } }, { timeout: 5000 });
      const { execution } = await engine.start(spec, {});
      expect(execution.deadline).toBe(ctx.clock.t + 5000);
      const [a] = await engine.claim({ owner: "w", limit: 1 });
      ctx.clock.advance(5000);
      expect((await engine.reap()).ended).toEqual([]);
      ctx.clock.advance(1);
      expect((await engine.reap()).ended).toEqual([execution.id]);
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({
        status: "failed",
        error: { type: "Timeout" },
      });
      const runs = await ctx.store.listRuns(execution.id);
      expect([runOf(runs, "a").status, runOf(runs, "b").status]).toEqual(["cancelled", "cancelled"]);
      expect((await engine.complete(ref(a!), "late")).applied).toBe(0);
    });

    it("retries after runAfter, with exponential backoff, until attempts run out", async () => {
      const engine = ctx.engine();
      const spec = workflowSpec("flaky", { t: { retry: { attempts: 3, backoff: 1000, factor: 2 } } });
      const { execution } = await engine.start(spec, {});
      const waits: number[] = [];
      for (let attempt = 1; attempt <= 3; attempt++) {
        const [run] = await engine.claim({ owner: "w", limit: 1 });
        expect(run).toMatchObject({ attempt });
        await engine.fail(ref(run!), failure(`attempt ${attempt}`, true));
        const next = await ctx.store.nextRunAfter(execution.id);
        if (next === null) break;
        waits.push(next - ctx.clock.t);
        expect(await engine.claim({ owner: "w", limit: 1 })).toEqual([]);
        ctx.clock.advance(next - ctx.clock.t);
      }
      expect(waits).toEqual([500, 1000]); // half the nominal backoff (random() = 0)
      const t = runOf(await ctx.store.listRuns(execution.id), "t");
      expect(t).toMatchObject({ status: "failed", attempt: 3, error: { message: "attempt 3" } });
      const events = await ctx.store.listEvents(execution.id);
      expect(eventsOf(events, EventType.taskRetrying)).toHaveLength(2);
      expect(await ctx.store.getExecution(execution.id)).toMatchObject({ status: "failed" });
    });
  });
}
